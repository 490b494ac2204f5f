"""Error types of the envelope layer."""


class OpenError(Exception):
    """The envelope cannot be opened with the given keys.

    Raised for every failure to open, whatever its cause, always with the
    same message: telling a crafted envelope apart from a wrong key or a
    tampered header would hand its author an oracle.
    """

    MESSAGE = "envelope cannot be opened"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class EnvelopeFormatError(ValueError):
    """The envelope's public structure is malformed (inspection, no key involved)."""


class KeyFormatError(ValueError):
    """A public or private key has the wrong encoding or length."""


class KeyFileError(Exception):
    """A wrapped private key file cannot be unwrapped (wrong passphrase or damaged)."""


class SignatureError(Exception):
    """A signed document does not verify against the pinned network key."""
