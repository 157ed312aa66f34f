"""Quality metrics against known values, and the footage sources."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detect import footage
from detect.quality import compare, flicker, flicker_ratio, psnr, ssim


def _frames(seed=0, shape=(4, 48, 64, 3)):
    return np.random.default_rng(seed).integers(40, 216, shape, dtype=np.uint8)


def test_identical_clips():
    a = _frames()
    assert psnr(a, a) == math.inf
    assert ssim(a, a) == pytest.approx(1.0)
    assert flicker(a, a) == 0.0
    assert compare(a, a)["psnr_db"] == "inf"


def test_known_noise_psnr():
    a = _frames(shape=(8, 64, 64, 3))
    noise = np.random.default_rng(1).choice([-5, 5], size=a.shape)
    b = (a.astype(int) + noise).astype(np.uint8)  # no clipping: values stay in 35..221
    assert psnr(b, a) == pytest.approx(10 * math.log10(255 ** 2 / 25), abs=1e-9)  # 34.15 dB
    assert 0.9 < ssim(b, a) < 1.0


def test_ssim_drops_with_structure_loss():
    from scipy.ndimage import gaussian_filter

    a = _frames(shape=(2, 64, 64, 3))
    blurred = np.clip(gaussian_filter(a.astype(float), (0, 2, 2, 0)), 0, 255).astype(np.uint8)
    assert ssim(blurred, a) < 0.5
    shifted = np.clip(a.astype(int) + 3, 0, 255).astype(np.uint8)
    assert ssim(shifted, a) > 0.99  # a small offset barely changes structure


def test_flicker_static_vs_redrawn():
    a = _frames(shape=(10, 32, 32, 3))
    static = np.random.default_rng(2).choice([-2, 2], size=(1, 32, 32, 1))
    s = (a.astype(int) + static).astype(np.uint8)
    assert flicker(s, a) == pytest.approx(0.0)
    redrawn = np.random.default_rng(3).choice([-2, 2], size=(10, 32, 32, 1))
    r = (a.astype(int) + redrawn).astype(np.uint8)
    assert flicker(r, a) == pytest.approx(2.0, rel=0.05)  # |+-2 - +-2| is 0 or 4, half the time
    assert flicker_ratio(r, a) == pytest.approx(1.0, rel=0.05)


def test_synthetic_sources():
    for name in footage.SYNTHETIC:
        c = footage.synthetic(name, width=96, height=64, frames=5, fps=30)
        assert c.frames.shape == (5, 64, 96, 3) and c.fps == 30.0
    assert footage.flat(32, 16, 2).frames.std() == 0
    assert footage.static_scene(64, 48, 3).frames.std(axis=0).max() == 0
    assert footage.text(128, 64, 3).frames.min() < 60  # there is dark text


def test_real_footage_discovery_and_fit():
    found = footage.discover()
    if not found:
        pytest.skip("no real footage installed or fetched")
    small = min(found, key=lambda f: f.width * f.height)
    c = footage.load(small.path, max_frames=3, width=64, height=48)
    assert c.frames.shape == (3, 48, 64, 3)
    assert {f.source for f in found} <= {source for source, *_ in footage.CLIPS}
