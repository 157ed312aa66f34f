"""Embedding: add the keyed tile, scaled by the perceptual mask, to every frame's luma."""

from __future__ import annotations

import numpy as np

from ..ecc import encode_identifier
from .mask import TEMPORAL, MaskState, half_luma, half_masks, luma, perceptual_mask, upsample2
from .pattern import PERIOD, KeyedTile, render_cells
from .threads import thread_map, workers

__all__ = ["STRENGTH", "TARGET_PSNR_DB", "tiled_pattern", "embed_frames"]

#: frames per mask computation (bounds the float32 stack at half resolution)
CHUNK = 8

#: global strength (luma levels at mask 1, for a unit-RMS pattern). On busy footage the PSNR
#: cap below binds first; the strength matters for clips with headroom (screen captures,
#: smooth scenes), which at 2.8 fell short under codecs: a screen capture's mark at CRF 23
#: went from 1e-10 to 1e-21 at 4.0, still 43.6 dB, and flat areas get 0.15 x 4 = 0.6 levels
STRENGTH = 4.0
#: the clip's watermark RMS is capped so that PSNR stays at or above this (busy content
#: would otherwise take a mark stronger than the quality target allows)
TARGET_PSNR_DB = 43.0


def tiled_pattern(key: bytes, identifier: bytes, height: int, width: int) -> np.ndarray:
    """The unit-RMS pattern for this key and identifier, tiled over a height x width frame.

    The tile is anchored at the top-left pixel; any crop/offset is the detector's job."""
    tile = KeyedTile.from_key(key)
    px = render_cells(tile.cells(encode_identifier(identifier)), PERIOD)
    px /= px.std()
    reps = (-(-height // PERIOD), -(-width // PERIOD))
    return np.tile(px, reps)[:height, :width].astype(np.float32)


def embed_frames(frames: np.ndarray, key: bytes, identifier: bytes, strength: float = STRENGTH) -> np.ndarray:
    """uint8 [T, H, W, 3] RGB -> watermarked copy. The same pattern in every frame (static
    in time: it is what lets the detector average evidence over all frames)."""
    t, h, w, _ = frames.shape
    if h % 2 or w % 2 or min(h, w) < 8:
        return _embed_frames_slow(frames, key, identifier, strength)
    pattern = tiled_pattern(key, identifier, h, w)
    # one global gain per clip (a per-frame gain would flicker): measured on a sample of frames
    sample = np.unique(np.linspace(0, t - 1, min(t, 12)).astype(int))

    sample_luma = half_luma(frames[sample])  # BLAS: on this thread (see .threads)
    # the sample's masks are kept for the pass below, which would otherwise compute them
    # again (12 of the 41 frames of a 1.5-s 720p clip); a frame's mask does not depend on
    # the frames computed beside it
    sampled = dict(zip(sample.tolist(), thread_map(lambda j: half_masks(sample_luma[j:j + 1])[0], range(len(sample)))))

    def masked_power(m: np.ndarray) -> float:
        return float(np.mean((upsample2(m) * pattern) ** 2, dtype=np.float64))

    rms = float(np.sqrt(np.mean(thread_map(masked_power, list(sampled.values())))))
    cap = 255.0 * 10 ** (-TARGET_PSNR_DB / 20.0)
    pattern *= np.float32(min(strength, cap / max(rms, 1e-6)))
    out = np.empty_like(frames)

    def apply(item: tuple[int, np.ndarray]) -> None:
        i, m = item
        # frames are integers, so rint(frame + delta) = frame + rint(delta): the same
        # delta on R, G and B changes luma by delta and leaves chroma alone
        d = upsample2(m)
        d *= pattern
        np.rint(d, out=d)
        marked = np.add(frames[i], d.astype(np.int16)[..., None], dtype=np.int16)
        np.clip(marked, 0, 255, out=marked)
        out[i] = marked

    prev = None
    block = CHUNK * workers()
    for b0 in range(0, t, block):
        # masks per chunk on all threads, the temporal smoothing in order (it chains frames;
        # at half resolution, linear: the same as smoothing after upsampling), the mark on
        # all threads: the same bits as one thread
        idx = range(b0, min(t, b0 + block))
        todo = [i for i in idx if i not in sampled]
        fresh = iter(())
        if todo:
            small = half_luma(frames[todo])  # BLAS: on this thread
            fresh = iter(np.concatenate(thread_map(half_masks, [small[k:k + CHUNK] for k in range(0, len(small), CHUNK)])))
        smoothed = []
        for m in (sampled[i] if i in sampled else next(fresh) for i in idx):
            prev = m if prev is None else TEMPORAL * prev + (1.0 - TEMPORAL) * m
            smoothed.append(prev)
        thread_map(apply, enumerate(smoothed, start=b0))
    return out


def _embed_frames_slow(frames: np.ndarray, key: bytes, identifier: bytes, strength: float = STRENGTH) -> np.ndarray:
    """Per-frame reference path (odd frame sizes)."""
    t, h, w, _ = frames.shape
    pattern = tiled_pattern(key, identifier, h, w)
    sample = np.unique(np.linspace(0, t - 1, min(t, 12)).astype(int))
    rms = float(np.sqrt(np.mean([np.mean((perceptual_mask(luma(frames[i])) * pattern) ** 2) for i in sample])))
    cap = 255.0 * 10 ** (-TARGET_PSNR_DB / 20.0)
    pattern *= np.float32(min(strength, cap / max(rms, 1e-6)))
    masks = MaskState()
    out = np.empty_like(frames)
    for i in range(t):
        delta = masks(luma(frames[i])) * pattern
        marked = frames[i].astype(np.float32) + delta[..., None]
        np.clip(np.rint(marked), 0, 255, out=marked)
        out[i] = marked.astype(np.uint8)
    return out
