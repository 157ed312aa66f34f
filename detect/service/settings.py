"""What the upload service allows one request, and the server as a whole, to cost.

Every limit here is enforced before or while the work is done, never after: the
byte limit while the upload streams in, the type from the first bytes, the frame
and pixel limits while decoding (through :class:`provenance.media.DecodeLimits`),
and the wall-clock limit around the detection itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from provenance.errors import UsageError
from provenance.media import DecodeLimits

__all__ = ["ServiceSettings", "DEFAULT_ACCEPTED_TYPES"]

#: what POST /v1/detect accepts, sniffed from the bytes (provenance.media.sniff_media_type);
#: framemark's detector analyses video, so images are refused with 415
DEFAULT_ACCEPTED_TYPES = ("video/mp4", "video/quicktime", "video/webm", "video/x-msvideo")

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServiceSettings:
    """Settings of one service instance (``create_app(settings)``)."""

    keys_dir: Path | None = None            # keys folder: watermark key, trust anchors, manifest store
    max_upload_bytes: int = 200 * MIB       # larger bodies get 413 while still streaming
    max_concurrency: int = 2                # detections running at once (one per core here)
    max_queue: int = 64                     # requests waiting for a slot; beyond that 503
    queue_timeout_s: float = 60.0           # waiters get 503 when no slot has been freed for this long
    detect_timeout_s: float = 120.0         # wall-clock budget of one detection -> 422
    max_frames: int = 1800                  # 60 s at 30 fps
    max_pixels: int = 1920 * 1080           # per frame
    decode_seconds: float = 60.0            # decode budget inside the detection
    max_thumbnails: int = 8                 # ?thumbnails=N is capped here
    retry_after_s: int = 5                  # Retry-After on 503
    accepted_types: tuple[str, ...] = DEFAULT_ACCEPTED_TYPES
    tmp_dir: Path | None = None             # where uploads are spooled (default: system temp)
    warm_up: bool = False                   # at start, detect a tiny clip in the background (framemark serve: on)
    # the detection function; None means detect.fuse.detect_file (tests may pass another real one)
    detector: Callable[..., dict] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("max_upload_bytes", "max_concurrency", "max_frames", "max_pixels"):
            if int(getattr(self, name)) < 1:
                raise UsageError(f"service setting {name} must be at least 1, got {getattr(self, name)}")
        for name in ("queue_timeout_s", "detect_timeout_s", "decode_seconds"):
            if not float(getattr(self, name)) > 0:
                raise UsageError(f"service setting {name} must be positive, got {getattr(self, name)}")
        if self.max_queue < 0 or self.max_thumbnails < 0:
            raise UsageError("service settings max_queue and max_thumbnails cannot be negative")

    def decode_limits(self) -> DecodeLimits:
        """The limits every decode in a request runs under."""
        return DecodeLimits(max_frames=self.max_frames, max_pixels=self.max_pixels,
                            max_seconds=self.decode_seconds)
