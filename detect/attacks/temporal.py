"""Temporal attacks: frame-rate change, frame drop, trimming.

These change the number of frames (and, for the frame-rate change, the rate); the
pixels of the surviving frames are untouched.
"""

from __future__ import annotations

import numpy as np

from .base import Attack, fmt

__all__ = ["FrameRate", "FrameDrop", "Trim", "resample_fps", "TEMPORAL_ATTACKS"]


def resample_fps(frames: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """Nearest-frame resampling as ffmpeg's ``fps`` filter does it: output frame k
    shows the input frame on screen at time k / fps_out (duplicates when speeding
    the rate up, drops when slowing it down). Duration is kept."""
    T = frames.shape[0]
    n_out = max(1, int(round(T * fps_out / fps_in)))
    idx = np.minimum(np.floor(np.arange(n_out) * fps_in / fps_out + 1e-6).astype(np.int64), T - 1)
    return frames[idx]


class FrameRate(Attack):
    """Convert from ``src`` to ``dst`` frames per second. The clip is taken to run at
    ``src`` (its frames are re-timed to ``src`` first when its own rate differs, so
    ``fps-24to30`` means the same thing on any input), then resampled to ``dst``."""

    group = "temporal"
    changes_fps = True

    def __init__(self, src: float, dst: float) -> None:
        super().__init__(f"fps-{fmt(src)}to{fmt(dst)}", src=src, dst=dst)
        self.src, self.dst = src, dst

    def apply(self, clip):
        return clip.with_frames(np.ascontiguousarray(resample_fps(clip.frames, self.src, self.dst)), fps=float(self.dst))


class FrameDrop(Attack):
    """Drop a random ``fraction`` of the frames (seeded), keeping the rate: playback
    jumps where frames went missing."""

    group = "temporal"

    def __init__(self, fraction: float, seed: int = 0) -> None:
        super().__init__(f"drop-{fmt(fraction)}", fraction=fraction, seed=seed)
        self.fraction, self.seed = fraction, seed

    def apply(self, clip):
        T = clip.num_frames
        n_keep = max(1, int(round(T * (1 - self.fraction))))
        rng = np.random.default_rng(self.seed)
        keep = np.sort(rng.choice(T, size=n_keep, replace=False))
        return clip.with_frames(np.ascontiguousarray(clip.frames[keep]))


class Trim(Attack):
    """Cut ``head`` seconds from the start and ``tail`` from the end. At least one
    frame (the middle one) survives on a clip shorter than the cut."""

    group = "temporal"

    def __init__(self, head: float = 1.0, tail: float = 1.0) -> None:
        name = f"trim-{fmt(head)}s" if head == tail else f"trim-{fmt(head)}s-{fmt(tail)}s"
        super().__init__(name, head=head, tail=tail)
        self.head, self.tail = head, tail

    def apply(self, clip):
        T = clip.num_frames
        a = int(round(self.head * clip.fps))
        b = T - int(round(self.tail * clip.fps))
        if b <= a:
            a, b = T // 2, T // 2 + 1
        return clip.with_frames(np.ascontiguousarray(clip.frames[a:b]))


def TEMPORAL_ATTACKS() -> list[Attack]:
    return [FrameRate(24, 30), FrameRate(30, 24), FrameDrop(0.33), FrameDrop(0.66), Trim(1.0, 1.0)]
