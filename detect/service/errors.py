"""Errors of the service, and how every exception becomes a JSON response.

Each response body is ``{"error": {"status": N, "code": "...", "message": "..."}}``;
no handler ever returns a traceback. Media parsers (PyAV/FFmpeg, c2pa-rs) raising
on a hostile upload is a property of the input, so those become 422, not 500.
"""

from __future__ import annotations

import logging

from provenance.errors import (FramemarkError, IdentityError, InputError, LimitExceededError,
                               UnsupportedFormatError, UsageError)

__all__ = ["ServiceError", "error_body", "classify"]

log = logging.getLogger("framemark.service")


class ServiceError(FramemarkError):
    """An HTTP-level refusal: carries its status, a short machine code and headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_body(status: int, code: str, message: str) -> dict:
    return {"error": {"status": status, "code": code, "message": message}}


def _parser_error_types() -> tuple[type, ...]:
    """Exception types of the native media parsers, imported lazily (both are already
    loaded by the time a detection has failed)."""
    types: list[type] = []
    try:
        import av

        types.append(av.error.FFmpegError)
    except Exception:  # noqa: BLE001 - a missing optional parser just is not listed
        pass
    try:
        import c2pa

        types.append(c2pa.C2paError)
    except Exception:  # noqa: BLE001
        pass
    return tuple(types)


def classify(exc: BaseException) -> ServiceError:
    """The HTTP answer for an exception raised while handling an upload."""
    if isinstance(exc, ServiceError):
        return exc
    msg = _one_line(exc)
    if isinstance(exc, LimitExceededError):
        return ServiceError(422, "limit_exceeded", msg)
    if isinstance(exc, UnsupportedFormatError):
        return ServiceError(415, "unsupported_media_type", msg)
    if isinstance(exc, InputError):
        return ServiceError(422, "unreadable_input", msg)
    if isinstance(exc, IdentityError):
        # the server's keys folder is broken: not the client's fault, and retrying won't help soon
        log.error("identity problem: %s", msg)
        return ServiceError(503, "service_misconfigured", "the service's keys folder is not usable",
                            {"Retry-After": "60"})
    if isinstance(exc, UsageError):
        return ServiceError(400, "bad_request", msg)
    if isinstance(exc, FramemarkError):
        return ServiceError(422, "unprocessable", msg)
    parser_errors = _parser_error_types()
    if parser_errors and isinstance(exc, parser_errors):
        return ServiceError(422, "unreadable_input", f"the media could not be parsed ({msg})")
    if isinstance(exc, MemoryError):
        return ServiceError(422, "limit_exceeded", "the upload needs more memory than the service allows")
    log.exception("internal error while handling an upload", exc_info=exc)
    return ServiceError(500, "internal_error", f"internal error ({type(exc).__name__}); it has been logged")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first[:300]
