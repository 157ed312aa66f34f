"""``org.framemark.video.1``: a keyed, periodic, perceptually masked luma watermark.

See ``pattern`` (what is embedded), ``mask`` (where and how strongly), ``embed`` and
``detect`` (how it is found again after crops, rescaling, rotation, flips and codecs).
"""

from __future__ import annotations

import math

import numpy as np

from provenance.errors import InputError, UsageError

from ..base import DETECTION_P_VALUE, ExtractResult
from ..ecc import CODED_BITS, ID_BITS, decode_identifier
from ..stats import union_bound, weighted_sign_test
from .mask import _box2, half_luma, luma
from .threads import thread_map, workers

__all__ = ["ALG_ID", "PixelWatermark", "MIN_SIDE"]

ALG_ID = "org.framemark.video.1"
MIN_SIDE = 16
#: similarity alignments the warp refinement starts from (each costs ~0.3-0.6 s at 720p)
WARP_STARTS = 2
#: ... at these scales: a phone framing a screen fills its picture with it, give or take
WARP_SCALES = (0.8, 1.25)


def _check_clip(clip) -> None:
    t, h, w = clip.frames.shape[:3]
    if t == 0:
        raise InputError("the clip has no frames")
    if min(h, w) < MIN_SIDE:
        raise InputError(f"{w}x{h} is too small to watermark (needs at least {MIN_SIDE} px a side)")


def active_box(activity: np.ndarray) -> tuple[int, int, int, int] | None:
    """Bounding box (y0, y1, x0, x1) of the part of the frame that moves, from the mean
    absolute frame difference; None when the whole frame moves or nothing does."""
    from scipy.ndimage import uniform_filter

    h, w = activity.shape
    a = uniform_filter(activity, 9, mode="nearest")
    ref = float(np.percentile(a, 95))
    if ref < 0.5:  # a static clip (or a single frame): nothing to go by
        return None
    act = a > 0.1 * ref
    rows, cols = act.mean(axis=1), act.mean(axis=0)
    ys = np.nonzero(rows > 0.3 * rows.max())[0]
    xs = np.nonzero(cols > 0.3 * cols.max())[0]
    # a few pixels inside: the picture's own border (against the black bars) is a hard
    # edge the whitening would spread
    y0, y1, x0, x1 = int(ys[0]) + 8, int(ys[-1]) - 7, int(xs[0]) + 8, int(xs[-1]) - 7
    if (y1 - y0) * (x1 - x0) > 0.85 * h * w or min(y1 - y0, x1 - x0) < 64:
        return None
    return y0, y1, x0, x1


def mean_luma(frames: np.ndarray) -> np.ndarray:
    """The mean luma of a [T, H, W, 3] uint8 clip (float32 [H, W])."""
    t, h, w = frames.shape[:3]
    if h % 2 or w % 2:
        acc = np.zeros((h, w), dtype=np.float32)
        for frame in frames:
            acc += luma(frame)
        return acc / t
    # a running integer sum of RGB (exact, so the threads' partial sums add up to the same
    # bits; luma is linear, so the luma of the mean is the mean luma)
    def partial(c0: int) -> np.ndarray:
        acc = np.zeros((h, w, 3), dtype=np.uint32)
        # uint16 holds 257 frames of 255: half the memory traffic of uint32 (2.4x faster)
        for b0 in range(c0, min(t, c0 + part), 256):
            acc += frames[b0:min(t, c0 + part, b0 + 256)].sum(axis=0, dtype=np.uint16)
        return acc

    part = -(-t // workers())
    acc = sum(thread_map(partial, range(0, t, part)))
    return luma(acc) / np.float32(t)


def activity(frames: np.ndarray) -> np.ndarray:
    """Mean absolute frame difference of luma, [H, W]: where the picture moves (measured at
    half resolution for even frame sizes: it only locates the moving region)."""
    t, h, w = frames.shape[:3]
    if h % 2 or w % 2:
        acc = np.zeros((h, w), dtype=np.float32)
        prev = None
        for frame in frames:
            y = luma(frame)
            if prev is not None:
                acc += np.abs(y - prev)
            prev = y
    else:
        acc = np.zeros((h // 2, w // 2), dtype=np.float32)
        prev = None
        for c0 in range(0, t, 8):
            ys = half_luma(frames[c0:c0 + 8])
            if prev is not None:
                acc += np.abs(ys[0] - prev)
            if len(ys) > 1:
                acc += np.abs(np.diff(ys, axis=0)).sum(axis=0)
            prev = ys[-1]
        acc = np.repeat(np.repeat(acc, 2, axis=0), 2, axis=1)
    return acc / max(t - 1, 1)


def refined_alignment(residuals: list[np.ndarray], tile) -> tuple["Alignment", int]:
    """The best alignment, by sync score (set A only), over several views of one clip
    (whitened residuals: the frame, its moving box), and the index of the view it came
    from. Each view is searched (:func:`~.detect.search_candidates`) and refined beyond a
    similarity from its best few starts at scales ``WARP_SCALES`` (:func:`~.detect.warp_align`)
    before the views are compared; on equal scores the earlier view wins."""
    from .detect import search_candidates, warp_align

    best, index = None, 0
    for i, res in enumerate(residuals):
        cands = search_candidates(res, tile)
        starts = [a for a in cands if WARP_SCALES[0] <= a.scale <= WARP_SCALES[1]][:WARP_STARTS]
        al = warp_align(res, tile, cands[0], starts)
        if best is None or al.score > best.score:
            best, index = al, i
    return best, index


def _test(al, tile):
    """The test at alignment ``al``: agreement of the B chips, which no search looks at, with
    their keyed signs, each chip weighed by its magnitude (exact given the magnitudes)."""
    from .detect import cell_values

    return weighted_sign_test(cell_values(al)[tile.test], tile.signs[tile.test])


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
        _check_clip(clip)
        frames = clip.frames
        # the moving region matters only when the frame is not aligned as it is (a player
        # window in a screen recording): found then, not on every detection
        result, al, region = self._extract_mean(mean_luma(frames), len(frames), box=lambda: active_box(activity(frames)))
        if region is not None:  # the alignment is the moving region's, in its coordinates
            y0, y1, x0, x1 = region
            frames = frames[:, y0:y1, x0:x1]
        result.per_frame = self.per_frame_evidence(frames, al)
        return result

    def identify(self, result: ExtractResult, candidates: list[bytes]):
        """Which of the known ``candidates`` a detected mark's coded bits fit, when the
        blind decode failed its CRC (:func:`watermark.identify.match_identifier`)."""
        from watermark.identify import match_identifier

        return match_identifier(result.bits, candidates)

    def extract_mean(self, mean_luma: np.ndarray, frames_used: int) -> ExtractResult:
        """Detection from the mean luma of ``frames_used`` frames (the sufficient statistic)."""
        return self._extract_mean(mean_luma, frames_used)[0]

    def _extract_mean(self, mean_luma: np.ndarray, frames_used: int, box=None):
        from .detect import cell_values, quick_align, whiten
        from .pattern import KeyedTile

        tile = KeyedTile.from_key(self.key)
        res = whiten(mean_luma)
        al = quick_align(res, tile)
        region = None  # the sub-window whose alignment won, if one did
        looks = 1      # alignments whose test chips were tested (the p-value's union bound)
        quick = None
        if al is not None:
            # the first look: a sync peak at the unchanged geometry. A chance peak there (a
            # resized clip whose mark sits elsewhere, ~1 in 500) must not end the search, so a
            # failed test falls through to the full search and p pays for the second look
            looks = 2
            quick = (al, _test(al, tile))
            if looks * quick[1].p_value > DETECTION_P_VALUE:
                al = None
        if al is None:
            # the whole frame, and the moving part of it when there is one (a player window in
            # a screen recording, a letterboxed picture, a filmed screen inside its bezel):
            # each searched, then refined beyond a similarity (a camera filming a screen:
            # perspective and lens distortion) from its best few starts. The better sync score
            # wins only after both are refined (a box that wins the similarity search can
            # lose to the full frame's warp: cityCC0 camcorded). Every choice here uses set A
            # only, so none of them is made with the test chips.
            options = [(res, None)]
            if callable(box):
                box = box()
            if box is not None:
                y0, y1, x0, x1 = box
                options.append((whiten(mean_luma[y0:y1, x0:x1]), box))
            al, i = refined_alignment([r for r, _ in options], tile)
            region = options[i][1]
            test = _test(al, tile)
            if quick is not None and quick[1].p_value < test.p_value:
                (al, test), region = quick, None
        else:
            test = quick[1]
        v = cell_values(al)
        log10_p = union_bound(test.log10_p, looks)
        p = min(1.0, looks * test.p_value)
        detected = p <= DETECTION_P_VALUE
        # soft payload: chip estimates times keyed signs, LLR-scaled by the sync chips' SNR
        sync = np.concatenate([tile.search, tile.test])
        y = v[sync] * tile.signs[sync]
        mu, sd = float(np.mean(y)), float(np.std(y)) + 1e-12
        chips = v[tile.payload] * tile.signs[tile.payload]
        soft = np.bincount(tile.bit_of, weights=chips, minlength=CODED_BITS)
        llr = soft * (2.0 * max(mu, 0.0) / (sd * sd))
        ident, crc_ok, _, rank = decode_identifier(llr)
        bits = (soft > 0).astype(np.uint8)
        confidence = np.abs(np.tanh(llr / 2.0))
        return ExtractResult(
            alg=ALG_ID, detected=bool(detected), p_value=float(p),
            payload=ident if (detected and crc_ok) else None,
            bits=bits, confidence=confidence, frames_used=int(frames_used), per_frame=[],
            extra={
                "log10_p": float(log10_p), "log10_p_above": union_bound(test.log10_p_above, looks),
                "looks": looks,
                "test_chips_agreeing": test.agreeing, "test_chips": test.n,
                "test_score": test.score, "test_weight": test.total,
                "crc_ok": bool(crc_ok), "payload_guess": ident.hex(), "list_rank": int(rank),
                "scale": round(al.scale, 5), "rotation_deg": round(float(np.degrees(al.angle)), 3),
                "flipped": bool(al.flip), "sync_score": round(al.score, 3),
                # perspective and lens terms (a, b, c, d, g, h, k1) when the warp won
                "warp": None if al.warp is None else [round(float(x), 5) for x in al.warp.params],
                "region": None if region is None else [int(x) for x in region],
            },
        ), al, region

    def per_frame_evidence(self, frames: np.ndarray, al) -> list[float]:
        """Per frame, the correlation of its luma with the search chips rendered in frame
        coordinates at the clip's alignment (high-passed): a cheap trace for plots (marked
        frames sit above zero, unmarked or replaced ones around it), not a test.

        Read on a sparse grid, every ``step`` pixels: the mark has no energy above 1/8
        cycle per reference pixel, so at the clip's scale a step of 4 x scale keeps it
        below the grid's Nyquist frequency, and point samples cost no filtering."""
        from .detect import frame_template
        from .pattern import KeyedTile

        h, w = frames.shape[1:3]
        step = int(max(1, min(4, math.floor(4 * al.scale)))) if min(h, w) >= 64 else 1
        tmpl = frame_template(KeyedTile.from_key(self.key), al, (h, w), step=step)
        tmpl = tmpl - _box2(tmpl, 3)
        tmpl /= np.linalg.norm(tmpl) + 1e-12

        def chunk(c0: int) -> np.ndarray:
            y = luma(frames[c0:c0 + 16, ::step, ::step])
            y -= _box2(y, 3)
            return y

        out: list[float] = []
        for y in thread_map(chunk, range(0, len(frames), 16)):
            # tensordot is BLAS: on this thread (see .threads)
            num = np.tensordot(y, tmpl, axes=([1, 2], [0, 1]))
            den = np.sqrt(np.einsum("tij,tij->t", y, y)) + 1e-12
            out += [float(x) for x in num / den]
        return out
