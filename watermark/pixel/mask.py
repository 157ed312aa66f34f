"""Perceptual mask: how much watermark each pixel can hide.

The mark hides in texture (local contrast masks a small change) and must stay out of
flat areas (sky, walls, flat colour, letterbox) and off sharp, high-contrast edges such
as text, where a textured halo would show. The mask is a function of the local
standard deviation of luma, measured at half resolution for speed:

    m = clip(sd / SD_REF, FLOOR, CEIL) / sqrt(1 + (sd / SD_EDGE)^2)

``sd`` small (flat) -> FLOOR; moderate texture -> ~1; very high local contrast (text,
hard graphics edges, whose sd is 60-120 levels) -> rolled off again. The mask is
smoothed over time (exponential, ``TEMPORAL``) so that compression noise in flat areas
does not make the mark flicker.
"""

from __future__ import annotations

import numpy as np

__all__ = ["luma", "perceptual_mask", "MaskState"]

SD_REF = 6.0
SD_EDGE = 45.0
FLOOR = 0.15
CEIL = 1.6
TEMPORAL = 0.6  # weight of the previous frame's mask


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma as float32 (any weights summing to 1 would do: the mark is added to
    R, G and B alike, so it changes luma by exactly its own value)."""
    f = rgb.astype(np.float32)
    return f[..., 0] * 0.299 + f[..., 1] * 0.587 + f[..., 2] * 0.114


def perceptual_mask(y: np.ndarray) -> np.ndarray:
    """Mask for one luma frame (float32, same shape)."""
    from scipy.ndimage import uniform_filter, zoom

    h, w = y.shape
    small = y[: h - h % 2, : w - w % 2].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)) if min(h, w) >= 8 else y
    m1 = uniform_filter(small, 5, mode="reflect")
    m2 = uniform_filter(small * small, 5, mode="reflect")
    sd = np.sqrt(np.maximum(m2 - m1 * m1, 0.0))
    m = np.clip(sd / SD_REF, FLOOR, CEIL) / np.sqrt(1.0 + (sd / SD_EDGE) ** 2)
    # a little spatial smoothing so the mask itself has no sharp steps
    m = uniform_filter(m, 3, mode="reflect")
    if m.shape != y.shape:
        m = zoom(m, (h / m.shape[0], w / m.shape[1]), order=1, mode="nearest", grid_mode=True)
    return m.astype(np.float32)


class MaskState:
    """Temporal smoothing of the mask along a clip."""

    def __init__(self) -> None:
        self.prev: np.ndarray | None = None

    def __call__(self, y: np.ndarray) -> np.ndarray:
        m = perceptual_mask(y)
        if self.prev is not None and self.prev.shape == m.shape:
            m = TEMPORAL * self.prev + (1.0 - TEMPORAL) * m
        self.prev = m
        return m
