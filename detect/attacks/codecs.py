"""Lossy re-encoding through PyAV (libx264, libx265, libvpx-vp9, libsvtav1).

Each attack writes the clip to a temporary file with :func:`provenance.media.write_clip`
and decodes it again with :func:`provenance.media.read_clip`: exactly what a platform
or a user's transcode does, container and all.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .base import Attack, fmt

__all__ = ["Codec", "encode_decode", "CODEC_ATTACKS"]

_SUFFIX = {"libx264": ".mp4", "libx265": ".mp4", "libvpx-vp9": ".webm", "libsvtav1": ".mp4"}
_SHORT = {"libx264": "h264", "libx265": "h265", "libvpx-vp9": "vp9", "libsvtav1": "av1"}


def encode_decode(clip, codec: str = "libx264", crf: int | None = 23, bitrate: int | None = None,
                  preset: str | None = "medium", options: dict | None = None, keep: Path | None = None):
    """Encode ``clip`` with ``codec`` and decode it again. With ``keep`` the encoded file
    is moved there (the runner verifies the file it actually wrote)."""
    from provenance.media import read_clip, write_clip

    opts = dict(options or {})
    if codec == "libvpx-vp9":
        # constant quality (b=0), fast realtime settings: what a transcoding farm does per rung
        opts.setdefault("b", "0")
        opts.setdefault("deadline", "good")
        opts.setdefault("cpu-used", "5")
        opts.setdefault("row-mt", "1")
        preset = None
    if codec == "libsvtav1":
        opts.setdefault("preset", "10")
        os.environ.setdefault("SVT_LOG", "1")  # errors only: SVT-AV1 prints a banner per encode
        preset = None
    suffix = _SUFFIX.get(codec, ".mp4")
    with tempfile.TemporaryDirectory(prefix="fm-attack-") as d:
        path = Path(d) / f"attacked{suffix}"
        write_clip(path, clip, codec=codec, crf=crf, bitrate=bitrate, preset=preset, options=opts)
        out = read_clip(path)
        if keep is not None:
            os.replace(path, keep)
    frames = out.frames
    # write_clip pads odd sizes by one row/column for yuv420p: give the original size back
    frames = frames[:, :clip.height, :clip.width]
    if frames.shape[0] != clip.num_frames:
        # encoders must not add or drop frames; if a decoder does, keep the first T
        frames = frames[:clip.num_frames]
    return clip.with_frames(np.ascontiguousarray(frames))


class Codec(Attack):
    """Re-encode with ``codec`` at a constant rate factor, or at a bitrate cap after
    downscaling to ``height`` lines (what a platform's 480p rung does)."""

    group = "codec"

    def __init__(self, codec: str = "libx264", crf: int | None = 23, bitrate_kbps: int | None = None,
                 height: int | None = None, preset: str | None = "medium", name: str | None = None) -> None:
        short = _SHORT.get(codec, codec)
        if name is None:
            if bitrate_kbps is not None:
                name = f"{short}-{bitrate_kbps}k" + (f"-{height}p" if height else "")
            else:
                name = f"{short}-crf{fmt(crf)}"
        super().__init__(name, codec=codec, crf=crf, bitrate_kbps=bitrate_kbps, height=height, preset=preset)
        self.codec, self.crf, self.bitrate_kbps, self.height, self.preset = codec, crf, bitrate_kbps, height, preset

    def apply(self, clip):
        src = clip
        if self.height is not None and clip.height > self.height:
            from .geometry import resize_frames

            w = int(round(clip.width * self.height / clip.height / 2)) * 2
            src = clip.with_frames(resize_frames(clip.frames, w, self.height))
        opts = {}
        bitrate = None
        if self.bitrate_kbps is not None:
            bitrate = self.bitrate_kbps * 1000
            # a capped VBV like a streaming ladder rung, not an average target
            opts = {"maxrate": f"{self.bitrate_kbps}k", "bufsize": f"{2 * self.bitrate_kbps}k"}
        return encode_decode(src, self.codec, crf=None if bitrate else self.crf, bitrate=bitrate,
                             preset=self.preset, options=opts)


def CODEC_ATTACKS() -> list[Attack]:
    return [
        Codec("libx264", 23),
        Codec("libx264", 30),
        Codec("libx264", 40),
        Codec("libx264", None, bitrate_kbps=500, height=480),
        Codec("libx265", 30),
        Codec("libvpx-vp9", 40),
        Codec("libsvtav1", 40),
    ]
