"""Camcording: a phone filming the clip off a screen.

The picture goes through, in order: perspective (the screen's corners moved by
5-10 % of the frame, seeded), barrel lens distortion, moire (the beat between the
screen's pixel grid and the sensor's, as low-frequency fringes), vignetting,
defocus blur, sensor noise (shot noise growing with the signal plus read noise),
auto-exposure (a slow gain drift over time), and the phone's H.264 encode. The
camera is on a tripod: one geometry for the whole clip. Output size and frame
rate are the input's.
"""

from __future__ import annotations

import numpy as np

from .base import Attack, chunks, to_uint8
from .codecs import encode_decode
from .geometry import warp_frames

__all__ = ["Camcord", "homography", "CAMCORD_ATTACKS"]

PROFILES = {
    "mild": dict(corner=0.05, k1=-0.04, moire=0.03, vignette=0.2, blur=0.8, shot=0.15, read=2.0, exposure=0.08, crf=23),
    "strong": dict(corner=0.10, k1=-0.10, moire=0.06, vignette=0.35, blur=1.4, shot=0.4, read=3.0, exposure=0.15, crf=26),
    # mild's perspective and lens alone, nearly lossless: what the alignment has to undo
    "geometry": dict(corner=0.05, k1=-0.04, moire=0.0, vignette=0.0, blur=0.0, shot=0.0, read=0.0, exposure=0.0, crf=17),
}


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3x3 H with ``dst ~ H @ src`` for four (x, y) point pairs."""
    A, b = [], []
    for (x, y), (u, v) in zip(src, dst):
        A.append([x, y, 1, 0, 0, 0, -u * x, -u * y]); b.append(u)
        A.append([0, 0, 0, x, y, 1, -v * x, -v * y]); b.append(v)
    h = np.linalg.solve(np.asarray(A, float), np.asarray(b, float))
    return np.append(h, 1.0).reshape(3, 3)


class Camcord(Attack):
    group = "camcord"

    def __init__(self, profile: str = "mild", seed: int = 0) -> None:
        if profile not in PROFILES:
            raise ValueError(f"profile is one of {sorted(PROFILES)}")
        super().__init__(f"camcord-{profile}", profile=profile, seed=seed, **PROFILES[profile])
        self.profile, self.seed = profile, seed
        self.p = PROFILES[profile]

    def _grid(self, H: int, W: int, rng) -> tuple[np.ndarray, np.ndarray]:
        p = self.p
        # where the screen's corners land in the (undistorted) camera image: each corner
        # moved inwards/sideways by 5-10 % of the frame, randomly but keeping the quad convex
        c = np.array([[0, 0], [W - 1, 0], [W - 1, H - 1], [0, H - 1]], float)
        inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], float)
        mag = rng.uniform(0.5, 1.0, (4, 2)) * p["corner"] * np.array([W, H])
        jitter = rng.uniform(-0.3, 0.3, (4, 2)) * p["corner"] * np.array([W, H])
        dst = c + inward * mag + jitter * np.array([[0, 1], [0, 1], [0, 1], [0, 1]])
        Hinv = np.linalg.inv(homography(c, dst))
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
        # barrel distortion: a camera pixel at distorted radius r_d sees the ideal point r_d (1 + k1 r_d^2)
        cx, cy, norm = (W - 1) / 2, (H - 1) / 2, np.hypot(W, H) / 2
        nx, ny = (xx - cx) / norm, (yy - cy) / norm
        f = 1 + p["k1"] * (nx * nx + ny * ny)
        ux, uy = cx + nx * f * norm, cy + ny * f * norm
        den = Hinv[2, 0] * ux + Hinv[2, 1] * uy + Hinv[2, 2]
        sx = (Hinv[0, 0] * ux + Hinv[0, 1] * uy + Hinv[0, 2]) / den
        sy = (Hinv[1, 0] * ux + Hinv[1, 1] * uy + Hinv[1, 2]) / den
        return sy.astype(np.float32), sx.astype(np.float32)

    def apply(self, clip):
        from scipy.ndimage import gaussian_filter

        p, T, H, W = self.p, clip.num_frames, clip.height, clip.width
        rng = np.random.default_rng(self.seed)
        sy, sx = self._grid(H, W, rng)
        warped = warp_frames(clip.frames, sy, sx, fill=18.0)  # the screen's dark bezel around it
        # moire: two slightly rotated fringe systems of 20-60 px period, on the screen area only
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        th1, th2 = rng.uniform(0, np.pi), rng.uniform(0, np.pi)
        per1, per2 = rng.uniform(20, 60), rng.uniform(20, 60)
        fr = (np.cos(2 * np.pi * (xx * np.cos(th1) + yy * np.sin(th1)) / per1)
              + np.cos(2 * np.pi * (xx * np.cos(th2) + yy * np.sin(th2)) / per2)) / 2
        r2 = ((xx - W / 2) ** 2 + (yy - H / 2) ** 2) / ((W / 2) ** 2 + (H / 2) ** 2)
        gain_map = (1 + p["moire"] * fr) * (1 - p["vignette"] * r2)
        # auto-exposure: a slow, smooth gain drift (the phone hunting for exposure)
        t = np.arange(T) / clip.fps
        phase = rng.uniform(0, 2 * np.pi)
        exposure = 1 + p["exposure"] * np.sin(2 * np.pi * t / 3.0 + phase)
        out = np.empty_like(warped)
        noise_rng = np.random.default_rng(self.seed + 1)
        for s in chunks(T, 16):
            x = warped[s].astype(np.float32) * gain_map[None, :, :, None] * exposure[s, None, None, None]
            x = gaussian_filter(x, sigma=(0, p["blur"], p["blur"], 0), mode="nearest", truncate=3.0)
            sd = np.sqrt(p["shot"] * np.clip(x, 0, 255) + p["read"] ** 2)
            x = x + noise_rng.standard_normal(x.shape, dtype=np.float32) * sd
            out[s] = to_uint8(x)
        return encode_decode(clip.with_frames(out), "libx264", crf=p["crf"], preset="fast")


def CAMCORD_ATTACKS() -> list[Attack]:
    return [Camcord("mild"), Camcord("strong"), Camcord("geometry")]
