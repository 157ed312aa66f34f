"""Hand-crafted forensic features of a normalised clip (see :mod:`detect.normalize`).

Four families, the ones the video-forensics literature keeps finding useful:

* **spectral, frames**: the azimuthally averaged log power spectrum (FFT) of the
  luma, in ``N_BINS`` radial bands. Generators leave traces in the spectrum's
  fall-off (up-sampling layers, VAE decoders: Durall et al. 2020, Frank et al. 2020);
* **spectral, noise residuals**: the same spectrum of ``frame - median3x3(frame)``,
  which removes most scene content and keeps the sensor / synthesis noise
  (residual-based detectors, Cozzolino et al.), plus the residual's spread and
  kurtosis;
* **DCT**: log energy of 8x8 block-DCT coefficients by zig-zag diagonal (u + v),
  the statistic JPEG/H.264-domain forensics work with;
* **temporal**: frame-difference statistics, and H.264 motion-vector statistics
  from our own normalised encode (share of moving blocks, magnitude, direction
  entropy, coherence).

Every feature is a per-clip average (or spread) over frames, so a clip's length
cannot leak through the feature count. :data:`FEATURE_NAMES` names every column.
"""

from __future__ import annotations

import numpy as np

from .normalize import NormalizedClip

__all__ = ["N_BINS", "FEATURE_NAMES", "clip_features", "radial_profile"]

N_BINS = 16
_DCT_DIAGS = 15  # u + v in 0..14 for 8x8 blocks

FEATURE_NAMES: tuple[str, ...] = (
    *(f"fft_frame_{i}" for i in range(N_BINS)),
    "fft_frame_slope",
    *(f"fft_resid_{i}" for i in range(N_BINS)),
    "fft_resid_slope",
    "resid_std", "resid_kurtosis", "resid_temporal_corr",
    *(f"dct_diag_{i}" for i in range(_DCT_DIAGS)),
    "diff_mean", "diff_std", "diff_p90", "diff_static_frac", "diff_mean_cv", "diff_lag1_corr",
    "mv_moving_frac", "mv_mag_mean", "mv_mag_std", "mv_mag_p90", "mv_dir_entropy", "mv_coherence",
    "mv_count_per_frame",
)

_RADIUS_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _radius_bins(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Radial band index of each rfft2 bin of an n x n image, and the band sizes."""
    if n not in _RADIUS_CACHE:
        fy = np.fft.fftfreq(n)[:, None]
        fx = np.fft.rfftfreq(n)[None, :]
        r = np.sqrt(fx ** 2 + fy ** 2) / 0.5          # 0 .. ~1.41; 1 = Nyquist on the axes
        band = np.minimum((r * N_BINS).astype(int), N_BINS - 1)
        band[0, 0] = -1                                # drop DC: brightness is not a forensic trace
        counts = np.bincount(band[band >= 0].ravel(), minlength=N_BINS).astype(np.float64)
        _RADIUS_CACHE[n] = (band, counts)
    return _RADIUS_CACHE[n]


def radial_profile(images: np.ndarray) -> np.ndarray:
    """Azimuthally averaged log10 power spectrum of square images ``[T, n, n]`` (mean over T)."""
    n = images.shape[-1]
    band, counts = _radius_bins(n)
    window = np.outer(np.hanning(n), np.hanning(n)).astype(np.float32)  # no edge leakage into high bands
    spec = np.abs(np.fft.rfft2((images - images.mean(axis=(1, 2), keepdims=True)) * window)) ** 2
    power = spec.mean(axis=0)
    mask = band >= 0
    sums = np.bincount(band[mask].ravel(), weights=power[mask].ravel(), minlength=N_BINS)
    return np.log10(sums / np.maximum(counts, 1) + 1e-8)


def _slope(profile: np.ndarray) -> float:
    x = np.log10(np.arange(1, len(profile) + 1))
    return float(np.polyfit(x, profile, 1)[0])


def _median3(images: np.ndarray) -> np.ndarray:
    from scipy.ndimage import median_filter

    return median_filter(images, size=(1, 3, 3), mode="reflect")


def _dct_diagonals(gray: np.ndarray) -> np.ndarray:
    from scipy.fft import dctn

    t, h, w = gray.shape
    h8, w8 = h - h % 8, w - w % 8
    blocks = gray[:, :h8, :w8].reshape(t, h8 // 8, 8, w8 // 8, 8).transpose(0, 1, 3, 2, 4)
    coef = dctn(blocks, axes=(-2, -1), norm="ortho")
    energy = (coef ** 2).reshape(-1, 8, 8).mean(axis=0)
    diag = np.add.outer(np.arange(8), np.arange(8))
    return np.log10(np.array([energy[diag == d].mean() for d in range(_DCT_DIAGS)]) + 1e-8)


def _temporal(gray: np.ndarray) -> list[float]:
    diffs = np.abs(np.diff(gray, axis=0))                # [T-1, H, W]
    per_frame = diffs.mean(axis=(1, 2))
    mean = float(per_frame.mean())
    lag1 = 0.0
    if len(per_frame) >= 3 and per_frame.std() > 1e-9:
        lag1 = float(np.corrcoef(per_frame[:-1], per_frame[1:])[0, 1])
    return [mean, float(diffs.std()), float(np.percentile(diffs, 90)), float((diffs < 1.0).mean()),
            float(per_frame.std() / (mean + 1e-6)), lag1 if np.isfinite(lag1) else 0.0]


def _motion(mvs: list[np.ndarray], n_frames: int) -> list[float]:
    mags, angles, moving, total, vx, vy = [], [], 0, 0, 0.0, 0.0
    for arr in mvs:
        if arr is None or len(arr) == 0:
            continue
        scale = np.maximum(arr["motion_scale"].astype(np.float64), 1.0)
        dx = arr["motion_x"] / scale
        dy = arr["motion_y"] / scale
        area = (arr["w"].astype(np.float64) * arr["h"]) / 256.0   # weight by block area, in macroblocks
        mag = np.hypot(dx, dy)
        total += float(area.sum())
        nz = mag > 0
        moving += float(area[nz].sum())
        mags.append(mag[nz])
        angles.append(np.arctan2(dy[nz], dx[nz]))
        vx += float((dx * area).sum())
        vy += float((dy * area).sum())
    if total == 0:
        return [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    mag = np.concatenate(mags) if mags else np.zeros(0)
    ang = np.concatenate(angles) if angles else np.zeros(0)
    if len(mag):
        hist = np.histogram(ang, bins=8, range=(-np.pi, np.pi))[0].astype(np.float64)
        p = hist / hist.sum()
        entropy = float(-(p[p > 0] * np.log2(p[p > 0])).sum() / 3.0)   # 0..1
        coherence = float(np.hypot(vx, vy) / (np.sum(mag) + 1e-9))
        stats = [float(mag.mean()), float(mag.std()), float(np.percentile(mag, 90)), entropy, min(coherence, 1.0)]
    else:
        stats = [0.0, 0.0, 0.0, 0.0, 0.0]
    return [moving / total, *stats, total / max(n_frames, 1)]


def clip_features(norm: NormalizedClip) -> np.ndarray:
    """The feature vector (float64, ``len(FEATURE_NAMES)``) of one normalised clip."""
    rgb = norm.frames.astype(np.float32)
    gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)        # [T, H, W], 0..255
    frame_prof = radial_profile(gray)
    resid = gray - _median3(gray)
    resid_prof = radial_profile(resid)
    r = resid.ravel().astype(np.float64)
    r_std = float(r.std())
    kurt = float(((r - r.mean()) ** 4).mean() / (r_std ** 4 + 1e-12)) if r_std > 0 else 0.0
    # residual correlation between consecutive frames: real sensor noise decorrelates, smooth
    # synthesis (or a static scene) keeps it
    tcorr = 0.0
    if resid.shape[0] >= 2:
        a, b = resid[:-1].ravel(), resid[1:].ravel()
        if a.std() > 1e-9 and b.std() > 1e-9:
            tcorr = float(np.corrcoef(a, b)[0, 1])
    feats = [*frame_prof, _slope(frame_prof), *resid_prof, _slope(resid_prof),
             r_std, np.log1p(kurt), tcorr,
             *_dct_diagonals(gray), *_temporal(gray), *_motion(norm.motion_vectors, len(norm.frames))]
    out = np.asarray(feats, dtype=np.float64)
    assert out.shape == (len(FEATURE_NAMES),)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
