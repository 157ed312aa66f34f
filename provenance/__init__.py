"""framemark's provenance spine: C2PA signing and verification, keys, media I/O, errors."""

__version__ = "0.1.0"
