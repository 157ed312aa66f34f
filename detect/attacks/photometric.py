"""Colour and pixel-value attacks: brightness, contrast, gamma, saturation, blur, noise.

Brightness, contrast and saturation follow torchvision's ``adjust_*`` definitions
(the ones VideoSeal and most watermark papers report): brightness multiplies,
contrast blends with the mean grey of each frame, saturation blends with the
frame's greyscale.
"""

from __future__ import annotations

import numpy as np

from .base import Attack, chunks, fmt, luma, to_uint8

__all__ = ["Brightness", "Contrast", "Gamma", "Saturation", "Blur", "Noise", "PHOTOMETRIC_ATTACKS"]


class _PerChunk(Attack):
    group = "photometric"

    def apply(self, clip):
        out = np.empty_like(clip.frames)
        for s in chunks(clip.num_frames, 32):
            out[s] = to_uint8(self._f(clip.frames[s].astype(np.float32), s))
        return clip.with_frames(out)

    def _f(self, x: np.ndarray, s: slice) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class Brightness(_PerChunk):
    def __init__(self, factor: float) -> None:
        super().__init__(f"brightness-{fmt(factor)}", factor=factor)
        self.factor = factor

    def _f(self, x, s):
        return x * self.factor


class Contrast(_PerChunk):
    def __init__(self, factor: float) -> None:
        super().__init__(f"contrast-{fmt(factor)}", factor=factor)
        self.factor = factor

    def _f(self, x, s):
        mean = luma(x).mean(axis=(1, 2))[:, None, None, None]
        return mean + (x - mean) * self.factor


class Gamma(_PerChunk):
    """``out = 255 * (in / 255) ** gamma``."""

    def __init__(self, gamma: float) -> None:
        super().__init__(f"gamma-{fmt(gamma)}", gamma=gamma)
        self.gamma = gamma
        self._lut = to_uint8(255.0 * (np.arange(256) / 255.0) ** gamma)

    def apply(self, clip):
        return clip.with_frames(self._lut[clip.frames])


class Saturation(_PerChunk):
    def __init__(self, factor: float) -> None:
        super().__init__(f"saturation-{fmt(factor)}", factor=factor)
        self.factor = factor

    def _f(self, x, s):
        grey = luma(x)[..., None]
        return grey + (x - grey) * self.factor


class Blur(_PerChunk):
    """Gaussian blur in space (sigma in pixels), each frame and channel."""

    def __init__(self, sigma: float) -> None:
        super().__init__(f"blur-{fmt(sigma)}", sigma=sigma)
        self.sigma = sigma

    def _f(self, x, s):
        from scipy.ndimage import gaussian_filter

        return gaussian_filter(x, sigma=(0, self.sigma, self.sigma, 0), mode="nearest", truncate=3.0)


class Noise(_PerChunk):
    """Additive white Gaussian noise, ``sigma`` in 8-bit levels, fresh per frame, seeded."""

    def __init__(self, sigma: float, seed: int = 0) -> None:
        super().__init__(f"noise-{fmt(sigma)}", sigma=sigma, seed=seed)
        self.sigma, self.seed = sigma, seed

    def apply(self, clip):
        self._rng = np.random.default_rng(self.seed)
        return super().apply(clip)

    def _f(self, x, s):
        return x + self._rng.normal(0.0, self.sigma, x.shape).astype(np.float32)


def PHOTOMETRIC_ATTACKS() -> list[Attack]:
    return [
        Brightness(0.5), Brightness(1.5),
        Contrast(0.5), Contrast(1.5),
        Gamma(0.7), Gamma(1.4),
        Saturation(0), Saturation(2),
        Blur(1), Blur(2),
        Noise(5), Noise(12),
    ]
