"""framemark's one exception hierarchy.

Every error a user can cause derives from :class:`FramemarkError` and carries the
exit status the CLI returns for it, so the CLI can print one line and exit
without a traceback. "No manifest" is not an error anywhere in framemark: it is
the ``absent`` state of a verification report.
"""

from __future__ import annotations

__all__ = [
    "FramemarkError",
    "InputError",
    "UsageError",
    "OutputExistsError",
    "UnsupportedFormatError",
    "IdentityError",
    "SigningError",
    "LimitExceededError",
]


class FramemarkError(Exception):
    """Base class of every error framemark raises on purpose."""

    #: exit status of the CLI when this error ends a command
    exit_code = 2


class InputError(FramemarkError):
    """An input file is missing, unreadable, empty, truncated or malformed."""

    exit_code = 2


class UsageError(FramemarkError):
    """A command was called with arguments that cannot work together."""

    exit_code = 2


class OutputExistsError(FramemarkError):
    """An output already exists and ``--force`` was not given."""

    exit_code = 2


class UnsupportedFormatError(FramemarkError):
    """The media format cannot be handled the way that was asked (e.g. embed into WebM)."""

    exit_code = 2


class IdentityError(FramemarkError):
    """The signing identity or watermark key is missing, expired, or does not match."""

    exit_code = 2


class SigningError(FramemarkError):
    """C2PA signing failed for a reason other than the input or the identity."""

    exit_code = 2


class LimitExceededError(InputError):
    """An input exceeds a configured limit (frames, pixels, bytes, decode time)."""

    exit_code = 2
