"""Quality of a processed clip against its original: PSNR, SSIM and temporal flicker.

* :func:`psnr` over all RGB samples of all frames (one MSE for the clip, the usual
  definition in watermarking papers); ``luma=True`` for the BT.601 luma instead.
  Identical clips give ``inf``.
* :func:`ssim` on luma with the standard Gaussian window (sigma 1.5, truncated at
  11 x 11, K1 = 0.01, K2 = 0.03, L = 255; Wang et al. 2004), the mean over frames.
* :func:`flicker`: how much the *difference* between the two clips changes from
  frame to frame, ``mean |(a_t - b_t) - (a_{t-1} - b_{t-1})|`` on luma in 8-bit
  levels. A static (or smoothly varying) watermark scores ~0 however strong it is;
  a mark whose strength jumps between frames scores high and is what viewers see
  as flicker. :func:`flicker_ratio` divides it by the mean residual magnitude.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["psnr", "ssim", "ssim_frame", "flicker", "flicker_ratio", "compare", "luma"]


def luma(frames: np.ndarray) -> np.ndarray:
    f = np.asarray(frames, dtype=np.float64)
    return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]


def _check(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        from provenance.errors import UsageError

        raise UsageError(f"quality needs clips of the same shape, got {a.shape} and {b.shape}")


def psnr(a: np.ndarray, b: np.ndarray, *, luma_only: bool = False, peak: float = 255.0) -> float:
    """PSNR in dB of ``a`` against ``b`` (uint8 frames, any leading shape)."""
    _check(a, b)
    if luma_only:
        x, y = luma(a), luma(b)
    else:
        x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mse = float(np.mean((x - y) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def ssim_frame(x: np.ndarray, y: np.ndarray, sigma: float = 1.5, peak: float = 255.0) -> float:
    """SSIM of two single-channel float images (Gaussian window)."""
    from scipy.ndimage import gaussian_filter

    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    trunc = 3.5 / sigma if sigma else 4.0  # an 11 x 11 window at sigma 1.5
    g = lambda z: gaussian_filter(z, sigma, truncate=trunc, mode="reflect")  # noqa: E731
    mx, my = g(x), g(y)
    sxx, syy, sxy = g(x * x) - mx * mx, g(y * y) - my * my, g(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return float(np.mean(num / den))


def ssim(a: np.ndarray, b: np.ndarray, *, max_frames: int | None = None) -> float:
    """Mean luma SSIM over frames of ``a`` vs ``b`` (uint8 ``[T, H, W, 3]``, or one frame
    ``[H, W, 3]``). ``max_frames`` evaluates an evenly spaced subset (speed)."""
    _check(a, b)
    if a.ndim == 3:
        a, b = a[None], b[None]
    idx = np.arange(a.shape[0])
    if max_frames is not None and len(idx) > max_frames:
        idx = np.unique(np.linspace(0, len(idx) - 1, max_frames).round().astype(int))
    return float(np.mean([ssim_frame(luma(a[t]), luma(b[t])) for t in idx]))


def flicker(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute frame-to-frame change of the luma residual ``a - b`` (8-bit levels).
    0 for a single frame."""
    _check(a, b)
    if a.shape[0] < 2:
        return 0.0
    total = 0.0
    prev = luma(a[0]) - luma(b[0])
    for t in range(1, a.shape[0]):
        cur = luma(a[t]) - luma(b[t])
        total += float(np.mean(np.abs(cur - prev)))
        prev = cur
    return total / (a.shape[0] - 1)


def flicker_ratio(a: np.ndarray, b: np.ndarray) -> float:
    """:func:`flicker` over the mean absolute luma residual: 0 static mark, ~1.4 a mark
    redrawn independently every frame."""
    res = float(np.mean(np.abs(luma(a) - luma(b))))
    return 0.0 if res == 0 else flicker(a, b) / res


def compare(processed: np.ndarray, original: np.ndarray, *, ssim_frames: int | None = 30) -> dict:
    """All the figures at once, JSON-ready (``inf`` PSNR becomes the string "inf")."""
    p, py = psnr(processed, original), psnr(processed, original, luma_only=True)
    return {
        "psnr_db": p if math.isfinite(p) else "inf",
        "psnr_luma_db": py if math.isfinite(py) else "inf",
        "ssim": ssim(processed, original, max_frames=ssim_frames),
        "flicker": flicker(processed, original),
        "flicker_ratio": flicker_ratio(processed, original),
    }
