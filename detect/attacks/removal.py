"""Removal attacks: an adversary who knows how the mark works, without the key.

A watermark that is the same in every frame can be *estimated* from the marked clip
itself: the mean over time of each frame's high-pass residual keeps whatever is
static in the picture (the mark, and static scene detail) while moving content
averages away. Subtracting that estimate removes the mark at the cost of some
static detail. This is the classic template-estimation attack on static marks; it
needs no key, only the marked clip, and is the first thing a motivated remover
tries, so the suite measures it.
"""

from __future__ import annotations

import numpy as np

from .base import Attack, chunks, fmt, luma, to_uint8

__all__ = ["TemplateEstimate", "REMOVAL_ATTACKS"]


class TemplateEstimate(Attack):
    """Subtract ``strength`` x the time-averaged high-pass luma residual (Gaussian
    ``sigma`` px) from every frame, equally in R, G and B (a luma-only change)."""

    group = "removal"

    def __init__(self, strength: float = 1.0, sigma: float = 1.5) -> None:
        super().__init__(f"estimate-remove-{fmt(strength)}", strength=strength, sigma=sigma)
        self.strength, self.sigma = strength, sigma

    def apply(self, clip):
        from scipy.ndimage import gaussian_filter

        frames = clip.frames
        T = clip.num_frames
        est = np.zeros(frames.shape[1:3], np.float64)
        for sl in chunks(T, 16):  # chunks bound the float memory on 720p and larger
            y = luma(frames[sl])
            est += (y - gaussian_filter(y, sigma=(0, self.sigma, self.sigma))).sum(axis=0)
        est /= T
        delta = (self.strength * est).astype(np.float32)[..., None]
        out = np.empty_like(frames)
        for sl in chunks(T, 16):
            out[sl] = to_uint8(frames[sl].astype(np.float32) - delta[None])
        return clip.with_frames(out)


def REMOVAL_ATTACKS() -> list[Attack]:
    return [TemplateEstimate(1.0), TemplateEstimate(2.0)]
