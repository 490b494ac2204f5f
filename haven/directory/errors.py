"""Why a directory is refused."""


class DirectoryError(Exception):
    """A directory is refused; the message says why in one line.

    Clients encrypt only to keys from a directory that passed every check:
    a forged, stale or rolled-back directory is how a fake help bot would
    get requests sealed to its own key.
    """
