"""``org.framemark.video.1``: a keyed, periodic, perceptually masked luma watermark.

See ``pattern`` (what is embedded), ``mask`` (where and how strongly), ``embed`` and
``detect`` (how it is found again after crops, rescaling, rotation, flips and codecs).
"""

from __future__ import annotations

import numpy as np

from provenance.errors import InputError, UsageError

from ..base import DETECTION_P_VALUE, ExtractResult
from ..ecc import CODED_BITS, ID_BITS, decode_identifier
from ..stats import agreement_p_value

__all__ = ["ALG_ID", "PixelWatermark", "MIN_SIDE"]

ALG_ID = "org.framemark.video.1"
MIN_SIDE = 16


def _check_clip(clip) -> None:
    t, h, w = clip.frames.shape[:3]
    if t == 0:
        raise InputError("the clip has no frames")
    if min(h, w) < MIN_SIDE:
        raise InputError(f"{w}x{h} is too small to watermark (needs at least {MIN_SIDE} px a side)")


class PixelWatermark:
    """The pixel watermark behind the :class:`~watermark.base.WatermarkAlgorithm` interface."""

    alg_id = ALG_ID

    def __init__(self, key: bytes, strength: float | None = None):
        if len(bytes(key)) < 16:
            raise UsageError("the watermark key must be at least 16 bytes")
        from .embed import STRENGTH

        self.key = bytes(key)
        self.strength = STRENGTH if strength is None else float(strength)

    # ------------------------------------------------------------------ embed
    def embed(self, clip, payload: bytes):
        from .embed import embed_frames

        if len(payload) != ID_BITS // 8:
            raise UsageError(f"the pixel watermark payload is a {ID_BITS}-bit identifier ({ID_BITS // 8} bytes)")
        _check_clip(clip)
        return clip.with_frames(embed_frames(clip.frames, self.key, bytes(payload), self.strength))

    # ---------------------------------------------------------------- extract
    def extract(self, clip) -> ExtractResult:
        from .mask import luma

        _check_clip(clip)
        acc = np.zeros(clip.frames.shape[1:3], dtype=np.float64)
        for frame in clip.frames:
            acc += luma(frame)
        result, al = self._extract_mean(acc / clip.num_frames, clip.num_frames)
        result.per_frame = self.per_frame_evidence(clip.frames, al)
        return result

    def extract_mean(self, mean_luma: np.ndarray, frames_used: int) -> ExtractResult:
        """Detection from the mean luma of ``frames_used`` frames (the sufficient statistic)."""
        return self._extract_mean(mean_luma, frames_used)[0]

    def _extract_mean(self, mean_luma: np.ndarray, frames_used: int):
        from .detect import cell_values, search, whiten
        from .pattern import KeyedTile

        tile = KeyedTile.from_key(self.key)
        res = whiten(mean_luma)
        al = search(res, tile)
        v = cell_values(al)
        # the test: sign agreement of the B chips, which the search never looked at
        p, log10_p, agree, n = agreement_p_value(v[tile.test], tile.signs[tile.test])
        detected = p <= DETECTION_P_VALUE
        # soft payload: chip estimates times keyed signs, LLR-scaled by the sync chips' SNR
        sync = np.concatenate([tile.search, tile.test])
        y = v[sync] * tile.signs[sync]
        mu, sd = float(np.mean(y)), float(np.std(y)) + 1e-12
        chips = v[tile.payload] * tile.signs[tile.payload]
        soft = np.bincount(tile.bit_of, weights=chips, minlength=CODED_BITS)
        llr = soft * (2.0 * max(mu, 0.0) / (sd * sd))
        ident, crc_ok, _ = decode_identifier(llr)
        bits = (soft > 0).astype(np.uint8)
        confidence = np.abs(np.tanh(llr / 2.0))
        return ExtractResult(
            alg=ALG_ID, detected=bool(detected), p_value=float(p),
            payload=ident if (detected and crc_ok) else None,
            bits=bits, confidence=confidence, frames_used=int(frames_used), per_frame=[],
            extra={
                "log10_p": float(log10_p), "test_chips_agreeing": agree, "test_chips": n,
                "crc_ok": bool(crc_ok), "payload_guess": ident.hex(),
                "scale": round(al.scale, 5), "rotation_deg": round(float(np.degrees(al.angle)), 3),
                "flipped": bool(al.flip), "sync_score": round(al.score, 3),
            },
        ), al

    def per_frame_evidence(self, frames: np.ndarray, al) -> list[float]:
        """Per frame, the correlation of its luma with the search chips rendered in frame
        coordinates at the clip's alignment (high-passed): a cheap trace for plots (marked
        frames sit above zero, unmarked or replaced ones around it), not a test."""
        from scipy.ndimage import uniform_filter

        from .detect import frame_template
        from .mask import luma
        from .pattern import KeyedTile

        tmpl = frame_template(KeyedTile.from_key(self.key), al, frames.shape[1:3])
        tmpl = tmpl - uniform_filter(tmpl, 9, mode="wrap")
        tmpl /= np.linalg.norm(tmpl) + 1e-12
        out = []
        for f in frames:
            y = luma(f)
            y = y - uniform_filter(y, 9, mode="reflect")
            out.append(float(np.sum(y * tmpl) / (np.linalg.norm(y) + 1e-12)))
        return out
