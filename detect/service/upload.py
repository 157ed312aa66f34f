"""Stream a multipart upload to a temporary file, with a byte limit and type sniffing.

The request body is parsed as it arrives (python-multipart's streaming parser),
so memory stays at one network chunk whatever the upload's size. The ``file``
field's bytes go to a private temporary file; the type is sniffed from its first
bytes (never from the file name or the declared Content-Type); the byte limit is
enforced while streaming, so an oversized upload is refused without being stored.
The caller deletes the file (``SpooledUpload.delete``) when the request ends.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator

from provenance.media import sniff_media_type

from .errors import ServiceError

__all__ = ["SpooledUpload", "receive_upload", "receive_raw", "SNIFF_BYTES"]

#: bytes needed by provenance.media.sniff_media_type
SNIFF_BYTES = 16
#: multipart framing and headers around the file's bytes; a Content-Length above
#: limit + this is refused before reading anything
_FRAMING_ALLOWANCE = 64 * 1024
_SUFFIX = {"video/mp4": ".mp4", "video/quicktime": ".mov", "video/webm": ".webm",
           "video/x-msvideo": ".avi", "image/jpeg": ".jpg", "image/png": ".png"}


@dataclass
class SpooledUpload:
    path: Path
    media_type: str
    size: int
    filename: str | None

    def delete(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _boundary(content_type: str | None) -> bytes:
    from python_multipart.multipart import parse_options_header

    if not content_type:
        raise ServiceError(400, "bad_request", "expected a multipart/form-data upload with a field named 'file'")
    ctype, params = parse_options_header(content_type)
    if ctype != b"multipart/form-data":
        raise ServiceError(415, "unsupported_media_type",
                           f"expected multipart/form-data, got {ctype.decode('latin-1')[:80]}")
    boundary = params.get(b"boundary")
    if not boundary or len(boundary) > 200:
        raise ServiceError(400, "bad_request", "multipart/form-data without a usable boundary")
    return boundary


class _Receiver:
    """python-multipart callbacks: route the ``file`` part to a temporary file."""

    def __init__(self, max_bytes: int, accepted: tuple[str, ...], tmp_dir: Path | None):
        self.max_bytes = max_bytes
        self.accepted = accepted
        self.tmp_dir = tmp_dir
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.headers: dict[bytes, bytes] = {}
        self.in_file = False
        self.files_seen = 0
        self.head = bytearray()
        self.fh = None
        self.path: Path | None = None
        self.size = 0
        self.filename: str | None = None
        self.media_type: str | None = None
        self.finished = False
        self.error: ServiceError | None = None

    # -- header callbacks
    def on_part_begin(self) -> None:
        self.headers = {}
        self.in_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        if params.get(b"name") != b"file":
            return  # other form fields are ignored (and not stored)
        self.files_seen += 1
        if self.files_seen > 1:
            raise ServiceError(400, "bad_request", "send exactly one field named 'file'")
        self.in_file = True
        raw_name = params.get(b"filename")
        self.filename = raw_name.decode("utf-8", "replace")[:200] if raw_name else None

    # -- body callbacks
    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self.in_file:
            return
        chunk = data[start:end]
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise ServiceError(413, "payload_too_large",
                               f"the upload is larger than the limit of {self.max_bytes} bytes")
        if self.fh is None:
            # hold the first bytes until the type is known: nothing of an unwanted type hits the disk
            self.head += chunk
            if len(self.head) >= SNIFF_BYTES:
                self._open_file()
            return
        self.fh.write(chunk)

    def on_part_end(self) -> None:
        if self.in_file and self.fh is None and self.size:
            self._open_file()  # a file shorter than SNIFF_BYTES: sniff what there is
        self.in_file = False

    def on_end(self) -> None:
        self.finished = True

    def _open_file(self) -> None:
        media_type = sniff_media_type(bytes(self.head))
        if media_type is None:
            raise ServiceError(415, "unsupported_media_type",
                               "the upload's bytes are not a known media type "
                               f"(accepted: {', '.join(self.accepted)})")
        if media_type not in self.accepted:
            raise ServiceError(415, "unsupported_media_type",
                               f"{media_type} uploads are not accepted (accepted: {', '.join(self.accepted)})")
        self.media_type = media_type
        fd, name = tempfile.mkstemp(prefix="framemark-upload-", suffix=_SUFFIX.get(media_type, ""),
                                    dir=self.tmp_dir)
        self.path = Path(name)
        self.fh = os.fdopen(fd, "wb")  # mkstemp creates it 0600: uploads are private
        self.fh.write(self.head)

    def callbacks(self) -> dict:
        return {name: getattr(self, name) for name in (
            "on_part_begin", "on_part_data", "on_part_end", "on_header_field", "on_header_value",
            "on_header_end", "on_headers_finished", "on_end")}

    def abort(self) -> None:
        if self.fh is not None:
            self.fh.close()
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


async def receive_upload(content_type: str | None, content_length: str | None, body: AsyncIterator[bytes], *,
                         max_bytes: int, accepted: tuple[str, ...], tmp_dir: Path | None = None) -> SpooledUpload:
    """Consume ``body`` (the request stream) and return the spooled ``file`` field.

    Raises :class:`ServiceError`: 400 malformed multipart or no ``file`` field, 413 too
    large, 415 not multipart or not an accepted media type. Nothing is left on disk
    when it raises.
    """
    from python_multipart.exceptions import MultipartParseError
    from python_multipart.multipart import MultipartParser

    boundary = _boundary(content_type)
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise ServiceError(400, "bad_request", "Content-Length is not a number") from None
        if declared > max_bytes + _FRAMING_ALLOWANCE:
            raise ServiceError(413, "payload_too_large",
                               f"the upload ({declared} bytes) is larger than the limit of {max_bytes} bytes")
    rx = _Receiver(max_bytes, accepted, tmp_dir)
    parser = MultipartParser(boundary, rx.callbacks())
    try:
        async for chunk in body:
            if chunk:
                parser.write(chunk)
        parser.finalize()
        if rx.files_seen == 0:
            raise ServiceError(400, "bad_request", "no field named 'file' in the upload")
        if rx.size == 0:
            raise ServiceError(422, "unreadable_input", "the uploaded file is empty")
        if not rx.finished or rx.path is None:
            raise ServiceError(400, "bad_request", "the multipart body ended early")
        rx.fh.close()
        rx.fh = None
    except MultipartParseError as exc:
        rx.abort()
        raise ServiceError(400, "bad_request", f"malformed multipart body ({str(exc)[:120]})") from None
    except BaseException:
        rx.abort()
        raise
    return SpooledUpload(path=rx.path, media_type=rx.media_type or "", size=rx.size, filename=rx.filename)


async def receive_raw(content_length: str | None, body: AsyncIterator[bytes], *, max_bytes: int,
                      accepted: tuple[str, ...], tmp_dir: Path | None = None) -> SpooledUpload:
    """Spool a request whose whole body is the asset (the Soft Binding Resolution API's
    ``POST /matches/byContent``), with the same limit, sniffing and cleanup."""
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise ServiceError(400, "bad_request", "Content-Length is not a number") from None
        if declared > max_bytes:
            raise ServiceError(413, "payload_too_large",
                               f"the asset ({declared} bytes) is larger than the limit of {max_bytes} bytes")
    rx = _Receiver(max_bytes, accepted, tmp_dir)
    rx.in_file, rx.files_seen = True, 1  # the body is one part with no multipart framing
    try:
        async for chunk in body:
            if chunk:
                rx.on_part_data(chunk, 0, len(chunk))
        rx.on_part_end()
        if rx.size == 0 or rx.path is None:
            raise ServiceError(422, "unreadable_input", "the request body is empty; send the asset's bytes")
        rx.fh.close()
        rx.fh = None
    except BaseException:
        rx.abort()
        raise
    return SpooledUpload(path=rx.path, media_type=rx.media_type or "", size=rx.size, filename=None)
