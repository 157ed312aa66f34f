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


def _box_reflect(a: np.ndarray, size: int, axis: int) -> np.ndarray:
    """``scipy.ndimage.uniform_filter1d(a, size, axis, mode="reflect")`` for odd ``size``,
    as a sum of shifted slices (float32, no running-sum cancellation)."""
    r = size // 2
    n = a.shape[axis]
    pad = [(0, 0)] * a.ndim
    pad[axis] = (r, r)
    p = np.pad(a, pad, mode="symmetric")
    sl = [slice(None)] * a.ndim
    sl[axis] = slice(0, n)
    out = p[tuple(sl)].copy()
    for k in range(1, size):
        sl[axis] = slice(k, k + n)
        out += p[tuple(sl)]
    out *= np.float32(1.0 / size)
    return out


def _box2(a: np.ndarray, size: int) -> np.ndarray:
    return _box_reflect(_box_reflect(a, size, a.ndim - 2), size, a.ndim - 1)


def half_luma(frames: np.ndarray) -> np.ndarray:
    """[T, H, W, 3] uint8 (H, W even) -> [T, H/2, W/2] float32: the 2 x 2 mean of :func:`luma`
    (luma is linear, so it is the luma of the 2 x 2 mean)."""
    t, h, w, _ = frames.shape
    # pairs of horizontal neighbours are 6 contiguous bytes: add the two rows (uint16,
    # exact), then one float32 product with the weights of both pixels
    g = frames.reshape(t, h // 2, 2, w // 2, 6)
    s = np.add(g[:, :, 0], g[:, :, 1], dtype=np.uint16)
    wt = np.array([0.299, 0.587, 0.114], dtype=np.float32) * np.float32(0.25)
    return s.astype(np.float32) @ np.concatenate([wt, wt])


def half_masks(small: np.ndarray) -> np.ndarray:
    """The mask of :func:`perceptual_mask` at half resolution, for a stack [T, h, w] of
    half-resolution luma frames (vectorised, float32)."""
    m1 = _box2(small, 5)
    m2 = _box2(small * small, 5)
    sd = np.sqrt(np.maximum(m2 - m1 * m1, np.float32(0.0)))
    m = np.clip(sd * np.float32(1.0 / SD_REF), FLOOR, CEIL) / np.sqrt(
        np.float32(1.0) + (sd * np.float32(1.0 / SD_EDGE)) ** 2)
    return _box2(m.astype(np.float32), 3)


def _up_axis(a: np.ndarray, axis: int) -> np.ndarray:
    a = np.moveaxis(a, axis, 0)
    n = a.shape[0]
    out = np.empty((2 * n,) + a.shape[1:], dtype=np.float32)
    q, t = np.float32(0.25), np.float32(0.75)
    ev, od = out[0::2], out[1::2]
    np.multiply(a, t, out=ev)
    od[...] = ev
    ev[1:] += q * a[:-1]
    ev[0] += q * a[0]
    od[:-1] += q * a[1:]
    od[-1] += q * a[-1]
    return np.moveaxis(out, 0, axis)


def upsample2(m: np.ndarray) -> np.ndarray:
    """Exact 2x linear upsampling of the last two axes, as ``scipy.ndimage.zoom(m, 2,
    order=1, mode="nearest", grid_mode=True)``: output 2i sits at input i - 1/4, 2i+1 at i + 1/4."""
    return np.ascontiguousarray(_up_axis(_up_axis(m, m.ndim - 2), m.ndim - 1))
