"""One file per revision, in order; each says why its change was made."""
