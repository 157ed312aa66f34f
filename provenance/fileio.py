"""Atomic, no-clobber output files.

Outputs appear under their final name only when complete: they are written to a
temporary file in the same directory and renamed into place, so an interrupted
or failed command never leaves a partial file, and an existing file is replaced
only when the caller passed ``force``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import InputError, OutputExistsError, UsageError

__all__ = ["atomic_output", "check_input_file", "check_output_path", "write_bytes_atomic", "write_private_file", "VIDEO_SUFFIXES"]

#: file endings taken as video when a folder or list is walked (batch detection, training)
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg")


def check_input_file(path: str | os.PathLike) -> Path:
    """An input must be an existing, non-empty, readable regular file: say which it is not."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory")
    if p.stat().st_size == 0:
        raise InputError(f"{p}: empty file")
    if not os.access(p, os.R_OK):
        raise InputError(f"{p}: not readable")
    return p


def check_output_path(path: str | os.PathLike, force: bool = False) -> Path:
    """Fail early, before any work, if ``path`` exists and ``force`` is not set."""
    out = Path(path)
    if out.exists() and not force:
        raise OutputExistsError(f"{out} already exists (use --force to overwrite)")
    if out.is_dir():
        raise UsageError(f"{out} is a directory, not a file")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"output folder {parent} does not exist")
    return out


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, force: bool = False, mode: int | None = 0o644) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary file keeps the final suffix so that format sniffing by
    extension (PyAV, c2pa) sees the right container. ``mkstemp`` creates it 0600; the
    result gets ``mode`` (0644: media and reports are not secrets; secrets go through
    :func:`write_private_file`).
    """
    out = check_output_path(path, force)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=f".part{out.suffix}", dir=out.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        # re-check: another process may have created the file meanwhile
        if out.exists() and not force:
            raise OutputExistsError(f"{out} already exists (use --force to overwrite)")
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes_atomic(path: str | os.PathLike, data: bytes, force: bool = False, mode: int | None = 0o644) -> Path:
    with atomic_output(path, force=force, mode=mode) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_private_file(path: str | os.PathLike, data: bytes, force: bool = False) -> Path:
    """Write a secret: the file is created 0600 from the start, never world-readable."""
    out = check_output_path(path, force)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
    return out
