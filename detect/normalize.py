"""The leakage control: every clip, of either class, is re-encoded the same way first.

A forensic classifier trained on raw files learns the container, the codec, the
frame rate, the length and the size, which say which *source* a file came from,
not whether its pixels were generated (the VidAudit audit: a clip-length-only
classifier reached AUC 0.998 across generators, 0.529 once clips were normalised).
So before any feature is computed, :func:`normalize_clip`:

1. resamples time to ``FPS`` frames a second and keeps at most ``FRAMES`` frames
   (one frame budget: 2 s), starting at ``start_s``;
2. centre-crops to a square and resizes to ``SIZE`` x ``SIZE`` (area filter);
3. encodes with one codec setting (libx264, CRF ``CRF``, preset ``PRESET``, yuv420p,
   ``FPS`` fps) and decodes that file back, exporting its H.264 motion vectors.

Features are computed on what comes back, so both classes carry the same codec
fingerprint and the motion vectors come from the same encoder.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from provenance.errors import InputError
from provenance.media import Clip, DecodeLimits, probe, read_clip, write_clip

__all__ = ["FPS", "FRAMES", "SIZE", "CRF", "PRESET", "MIN_FRAMES", "NormalizedClip", "normalize_clip",
           "normalize_file", "settings_dict"]

FPS = 8.0          # the generator's own rate; real footage is subsampled to it
FRAMES = 16        # 2 s budget
SIZE = 128         # the generator's own size
CRF = 23
PRESET = "medium"
MIN_FRAMES = 4     # fewer frames than this cannot give temporal statistics


def settings_dict() -> dict:
    """The normalisation recipe, stored with a trained model so that it is applied identically."""
    return {"fps": FPS, "frames": FRAMES, "size": SIZE, "codec": "libx264", "crf": CRF, "preset": PRESET,
            "pix_fmt": "yuv420p"}


@dataclass
class NormalizedClip:
    frames: np.ndarray              # uint8 [T, SIZE, SIZE, 3], decoded from the normalised encode
    motion_vectors: list[np.ndarray]  # per decoded frame: structured array (motion_x, motion_y, w, h, ...)
    source_frames: int              # frames used from the input


def _resample_indices(n: int, src_fps: float, start_s: float) -> list[int]:
    step = src_fps / FPS
    first = int(round(start_s * src_fps))
    out = []
    for k in range(FRAMES):
        i = first + int(round(k * step))
        if i >= n:
            break
        out.append(i)
    return out


def _square_resize(frame: np.ndarray) -> np.ndarray:
    from PIL import Image

    h, w = frame.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    img = Image.fromarray(frame[top:top + side, left:left + side])
    if side != SIZE:
        img = img.resize((SIZE, SIZE), Image.BOX if side > SIZE else Image.BICUBIC)
    return np.asarray(img, dtype=np.uint8)


def _decode_with_mvs(path: Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """Decode our own normalised encode, asking libavcodec to export motion vectors."""
    import av

    frames, mvs = [], []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.options = {"flags2": "+export_mvs"}
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            vec = None
            for sd in frame.side_data:
                if type(sd).__name__ == "MotionVectors":
                    vec = sd.to_ndarray()
                    break
            mvs.append(vec if vec is not None else np.zeros(0, dtype=[("motion_x", "<i4"), ("motion_y", "<i4"),
                                                                   ("motion_scale", "<u2"), ("w", "u1"),
                                                                   ("h", "u1"), ("source", "<i4")]))
    return np.stack(frames), mvs


def normalize_clip(clip: Clip, start_s: float = 0.0) -> NormalizedClip:
    """Resample, crop, resize, re-encode and decode ``clip`` (see the module docstring)."""
    idx = _resample_indices(clip.num_frames, clip.fps, start_s)
    if len(idx) < MIN_FRAMES:
        raise InputError(f"clip too short to analyse: {len(idx)} frames at {FPS:g} fps after resampling "
                         f"(needs at least {MIN_FRAMES}, i.e. {MIN_FRAMES / FPS:g} s)")
    small = np.stack([_square_resize(clip.frames[i]) for i in idx])
    with tempfile.TemporaryDirectory(prefix="framemark-norm-") as tmp:
        path = Path(tmp) / "norm.mp4"
        write_clip(path, Clip(frames=small, fps=FPS), codec="libx264", crf=CRF, preset=PRESET,
                   options={"threads": "1"})
        frames, mvs = _decode_with_mvs(path)
    return NormalizedClip(frames=frames, motion_vectors=mvs, source_frames=len(idx))


def normalize_file(path: str | Path, limits: DecodeLimits | None = None, start_s: float = 0.0) -> NormalizedClip:
    """Decode only as much of ``path`` as the frame budget needs, then :func:`normalize_clip`."""
    path = Path(path)
    facts = probe(path)
    fps = facts.get("fps") or 25.0
    need = int(math.ceil((start_s + FRAMES / FPS) * fps)) + 2
    clip = read_clip(path, limits=limits, max_frames=need)
    return normalize_clip(clip, start_s=start_s)
