"""Detection: one averaged, whitened frame; a search over scale, rotation, flip and offset.

1. **Aggregate.** The mark is static, so the mean luma over all frames carries it at
   full strength while moving content averages away. Frame-rate changes, dropped
   frames and trims change nothing but the number of frames averaged.
2. **Whiten.** Divide the spectrum of the mean frame by its radial power profile
   (natural images are ~1/f: the mark's mid frequencies would drown otherwise), then
   equalise local energy and clip outliers (letterbox edges, burnt-in text).
3. **Candidates.** The tile is periodic, so the autocorrelation of the whitened frame
   peaks on the lattice of the period: its peaks give scale and rotation directly
   (any crop, rescale or small rotation). A log-spaced grid over scale at 0 degrees
   backs it up for frames too small for a clean autocorrelation.
4. **Align.** For each candidate, every pixel is mapped to tile coordinates and
   accumulated modulo the period ("fold", 64 x 64 bins); an FFT correlation with the
   search chips (set A) finds the cyclic offset, for both mirror images at once.
5. **Test.** At the best alignment only, the test chips (set B) give the p-value
   (exact weighted sign test, see ``pattern``); the payload chips give soft bits for Viterbi.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .pattern import CELLS, FOLD, PERIOD, KeyedTile, read_cells, render_cells
from .threads import thread_map
from .warp import Warp, refine_warp, warp_coords

__all__ = ["Alignment", "whiten", "candidate_scales", "fold", "align", "search", "warp_align", "cell_values",
           "frame_template"]

SCALE_MIN, SCALE_MAX = 0.4, 2.4
BIN = PERIOD / FOLD  # reference pixels per fold bin


@dataclass
class Alignment:
    scale: float
    angle: float          # radians
    flip: bool
    shift: tuple[float, float]  # sub-bin (dy, dx) in fold bins
    score: float          # normalised correlation peak with the search chips
    tile: np.ndarray = field(repr=False, default=None)  # the folded 64 x 64 tile (unflipped)
    warp: Warp | None = None  # perspective and lens terms beyond the similarity (.warp)


def whiten(mean_luma: np.ndarray) -> np.ndarray:
    """Spectrally whitened, band-limited, locally normalised residual of the mean frame."""
    m = mean_luma.astype(np.float64)
    m = m - m.mean()
    h, w = m.shape
    spec = np.fft.rfft2(m)
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    r = np.sqrt(fy * fy + fx * fx)
    # radial power profile in 1/512-cycle rings, smoothed so the mark's own lattice peaks
    # (a tiny fraction of any ring) are not divided away
    ring = np.minimum((r * 512).astype(np.int64), 512)
    power = np.bincount(ring.ravel(), weights=(np.abs(spec) ** 2).ravel(), minlength=513)
    count = np.bincount(ring.ravel(), minlength=513)
    profile = np.sqrt(power / np.maximum(count, 1))
    profile = np.maximum(profile, profile.max() * 1e-9 + 1e-12)
    gain = 1.0 / profile[ring]
    # keep the band the mark can occupy over the scale range searched
    band = (r >= 1.0 / (PERIOD * SCALE_MAX)) & (r <= 0.45)
    res = np.fft.irfft2(spec * gain * band, s=(h, w))
    energy = local_energy(res * res)
    res = res / np.sqrt(energy + energy.mean() * 1e-2 + 1e-12)
    lim = 3.0 * np.sqrt(np.mean(res * res)) + 1e-12
    return np.clip(res, -lim, lim).astype(np.float32)


ENERGY_SIGMA = 12.0  # px: the scale over which local energy is equalised
ENERGY_BLOCK = 4     # px: the energy map is smoothed on a grid this much coarser


def local_energy(sq: np.ndarray) -> np.ndarray:
    """``sq`` smoothed by a Gaussian of :data:`ENERGY_SIGMA` px, computed on 4 x 4 block
    means and interpolated back (linear, block centres to pixel centres). At sigma 12 the
    map varies over tens of pixels, so the coarse grid changes it by ~0.3 % on average
    (under 2 % anywhere when both sides are multiples of 4; near the far edge of other sizes,
    whose last block is padded, up to ~10 %) while costing a sixth of the full-resolution
    filter, which was a fifth of a 720p detection."""
    from scipy.ndimage import gaussian_filter

    f = ENERGY_BLOCK
    h, w = sq.shape
    hp, wp = -(-h // f) * f, -(-w // f) * f
    if (hp, wp) != (h, w):
        sq = np.pad(sq, ((0, hp - h), (0, wp - w)), mode="symmetric")
    small = sq.reshape(hp // f, f, wp).sum(axis=1).reshape(hp // f, wp // f, f).sum(axis=2) / (f * f)
    small = gaussian_filter(small, ENERGY_SIGMA / f, mode="reflect")
    return _upsample_linear(_upsample_linear(small, h, f, axis=0), w, f, axis=1)


def _upsample_linear(a: np.ndarray, n: int, f: int, axis: int) -> np.ndarray:
    """``n`` samples along ``axis`` of ``a`` (whose samples are the centres of ``f``-pixel
    blocks), linearly interpolated, clamped at the ends."""
    pos = np.clip((np.arange(n) + 0.5) / f - 0.5, 0, a.shape[axis] - 1)
    i0 = np.floor(pos).astype(np.intp)
    i1 = np.minimum(i0 + 1, a.shape[axis] - 1)
    t = pos - i0
    if axis == 0:
        return a[i0] * (1 - t)[:, None] + a[i1] * t[:, None]
    return a[:, i0] * (1 - t) + a[:, i1] * t


def candidate_scales(res: np.ndarray, top: int = 6) -> list[tuple[float, float]]:
    """(scale, angle) candidates from the peaks of the residual's autocorrelation."""
    from scipy.ndimage import maximum_filter

    h, w = res.shape
    spec = np.fft.rfft2(res, s=(h, w))
    acf = np.fft.irfft2(np.abs(spec) ** 2, s=(h, w))
    acf = np.fft.fftshift(acf)
    cy, cx = h // 2, w // 2
    yy, xx = np.mgrid[0:h, 0:w]
    dy, dx = yy - cy, xx - cx
    dist = np.hypot(dy, dx)
    # a lag is usable only where enough of the frame overlaps itself
    usable = (dist >= PERIOD * SCALE_MIN * 0.9) & (dist <= PERIOD * SCALE_MAX * 1.1)
    usable &= (np.abs(dy) <= h * 0.6) & (np.abs(dx) <= w * 0.6) & (dx >= 0)
    # normalise by the overlap area so long lags are not penalised
    overlap = (h - np.abs(dy)) * (w - np.abs(dx))
    norm = np.where(usable, acf / np.maximum(overlap, 1), -np.inf)
    peaks = (norm == maximum_filter(norm, size=5)) & usable
    ys, xs = np.nonzero(peaks)
    if len(ys) == 0:
        return []
    order = np.argsort(norm[ys, xs])[::-1][: top * 3]
    out: list[tuple[float, float]] = []
    for i in order:
        vy, vx = float(dy[ys[i], xs[i]]), float(dx[ys[i], xs[i]])
        length, ang = math.hypot(vy, vx), math.atan2(vy, vx)
        # the lattice is square: fold the angle into (-45, 45] degrees
        ang = (ang + math.pi / 4) % (math.pi / 2) - math.pi / 4
        for s in (length / PERIOD, length / (PERIOD * math.sqrt(2))):
            if SCALE_MIN <= s <= SCALE_MAX:
                a = ang if s == length / PERIOD else ((ang + math.pi / 2) % (math.pi / 2) - math.pi / 4)
                if all(abs(s / o[0] - 1) > 0.01 or abs(a - o[1]) > 0.01 for o in out):
                    out.append((s, a))
        if len(out) >= top:
            break
    return out


SPEC_ANGLE_MAX = math.radians(15.0)
SPEC_K = 15  # tile harmonics used (the band of render_cells: |k| <= CELLS // 2 - 1)


def _lattice() -> tuple[np.ndarray, np.ndarray]:
    """Harmonics (ku, kv) of the tile period, one of each +/- pair, DC excluded."""
    k = np.arange(-SPEC_K, SPEC_K + 1)
    ku, kv = np.meshgrid(k, k)
    ku, kv = ku.ravel(), kv.ravel()
    # one of each +/- pair; the axis harmonics (ku = 0 or kv = 0) are left out: they lie on
    # the spectral lines of straight edges at the lattice's own angle (letterbox, player
    # window, a rotated frame's black corners) and would vote for every scale at that angle
    keep = (kv > 0) & (ku != 0)
    return ku[keep].astype(np.float32), kv[keep].astype(np.float32)


def spectral_candidates(res: np.ndarray, top: int = 6, n_pad: int = 1024) -> list[tuple[float, float]]:
    """(scale, angle) candidates from the magnitude spectrum of the residual.

    The tile is periodic, so a marked frame's spectrum holds a square lattice of peaks at
    (ku cos a - kv sin a, ku sin a + kv cos a) / (PERIOD * scale). Every hypothesis is
    scored by the mean normalised magnitude at its lattice points (nearest bin of a 3 x 3
    max-filtered spectrum, so a coarse grid misses no peak), for log-spaced scales x angles
    within +-15 degrees: a few thousand hypotheses cost milliseconds, once per clip.
    The score uses no keyed sign (it is the same for every key): the p-value stays exact."""
    from scipy.ndimage import maximum_filter

    h, w = res.shape
    hp, wp = max(n_pad, h), max(n_pad, w)
    win = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32) ** 0.5
    mag = np.abs(np.fft.rfft2(res * win, s=(hp, wp))).astype(np.float32)
    fy = np.fft.fftfreq(hp)[:, None]
    fx = np.fft.rfftfreq(wp)[None, :]
    r = np.sqrt(fy * fy + fx * fx)
    ring = np.minimum((r * 256).astype(np.int64), 256)
    prof = np.bincount(ring.ravel(), weights=mag.ravel(), minlength=257) / np.maximum(
        np.bincount(ring.ravel(), minlength=257), 1)
    mag = mag / np.maximum(prof[ring], 1e-12)
    # codec block edges (4/8/16 px transform and macroblock grids) put spectral lines at
    # multiples of 1/16 cycle/px in x and in y: neutralise them before the max filter
    bx = np.abs(fx * 16 - np.rint(fx * 16)) * wp / 16 < 1.5
    by = np.abs(fy * 16 - np.rint(fy * 16)) * hp / 16 < 1.5
    line = (bx & (np.abs(fx) > 1 / 32)) | (by & (np.abs(fy) > 1 / 32))
    mag = np.where(line, np.float32(np.median(mag)), mag)
    mag = maximum_filter(mag, size=3, mode="wrap")
    band = (r >= 1.0 / (PERIOD * SCALE_MAX)) & (r <= 0.45)
    mu0, sd0 = float(mag[band].mean()), float(mag[band].std()) + 1e-12
    ku, kv = _lattice()
    # scale step: the outermost harmonic moves by under 1 bin (the max filter covers +-1)
    # grid steps: the outermost harmonic (kmax * n / (PERIOD * s) bins from DC) moves by at
    # most ~1.2 bins between neighbours, which the 3 x 3 max filter covers
    kmax = SPEC_K * math.sqrt(2)
    out_scores = []
    s = SCALE_MIN
    while s <= SCALE_MAX:
        radius = min(hp, wp) * kmax / (PERIOD * s)
        step = max(1.2 / radius, 0.002)
        da = min(math.radians(1.0), 1.2 / radius)
        angles = np.arange(-SPEC_ANGLE_MAX, SPEC_ANGLE_MAX + da / 2, da)
        c, sn = np.cos(angles)[:, None], np.sin(angles)[:, None]
        fxx = (ku[None] * c - kv[None] * sn) / (PERIOD * s)
        fyy = (ku[None] * sn + kv[None] * c) / (PERIOD * s)
        # Hermitian symmetry: use the half-plane fx >= 0
        neg = fxx < 0
        fxx = np.where(neg, -fxx, fxx)
        fyy = np.where(neg, -fyy, fyy)
        ix = np.rint(fxx * wp).astype(np.int64)
        iy = np.rint(fyy * hp).astype(np.int64) % hp
        ok = (fxx <= 0.45) & (np.abs(fyy) <= 0.45)
        vals = np.where(ok, mag[iy, np.minimum(ix, mag.shape[1] - 1)], 0.0)
        n_ok = ok.sum(axis=1)
        # z-score of the mean over the lattice points in band (fair between scales whose
        # lattices hold different numbers of in-band points)
        sc = (vals.sum(axis=1) - n_ok * mu0) / (sd0 * np.sqrt(np.maximum(n_ok, 1)))
        for a, v in zip(angles, sc):
            out_scores.append((float(v), float(s), float(a)))
        s *= 1.0 + step
    out_scores.sort(reverse=True)
    out: list[tuple[float, float]] = []
    for v, s, a in out_scores:
        if all(abs(math.log(s / o[0])) > 0.02 or abs(a - o[1]) > math.radians(1.5) for o in out):
            out.append((s, a))
        if len(out) >= top:
            break
    return out


class _Grid:
    """Pixel coordinates relative to the frame centre, reused across hypotheses."""

    def __init__(self, res: np.ndarray, step: float = 1.0):
        """``step`` > 1: ``res`` is a block-averaged copy, one sample per step x step pixels."""
        h, w = res.shape
        self.values = res.ravel().astype(np.float64)
        # separable coordinates: u = a * x + b * y is an outer sum, never a full-frame product
        self.ys = ((np.arange(h, dtype=np.float32) - h / 2) * step + (step - 1) / 2).astype(np.float32)
        self.xs = ((np.arange(w, dtype=np.float32) - w / 2) * step + (step - 1) / 2).astype(np.float32)
        self.extent = max(h, w) * step
        self._cache: dict = {}


def fold(grid: _Grid, scale: float, angle: float) -> np.ndarray:
    """Accumulate every pixel at its tile position modulo the period: a FOLD x FOLD tile."""
    c, s = math.cos(angle), math.sin(angle)
    k = 1.0 / (scale * BIN)
    # floor, not rint: at scale 1 every bin then takes exactly BIN x BIN pixels (rint rounds
    # the half-integers to even and would give alternate bins 1 and 3 pixels)
    u = np.floor(np.add.outer(np.float32(s * k) * grid.ys, np.float32(c * k) * grid.xs)).astype(np.int32)
    v = np.floor(np.add.outer(np.float32(c * k) * grid.ys, np.float32(-s * k) * grid.xs)).astype(np.int32)
    return _accumulate(u, v, grid.values)


def fold_warped(values: np.ndarray, Y: np.ndarray, X: np.ndarray, scale: float, angle: float) -> np.ndarray:
    """:func:`fold` for per-pixel similarity-frame coordinates (``.warp.warp_coords``)."""
    c, s = math.cos(angle), math.sin(angle)
    k = 1.0 / (scale * BIN)
    u = np.floor(np.float32(s * k) * Y + np.float32(c * k) * X).astype(np.int32)
    v = np.floor(np.float32(c * k) * Y - np.float32(s * k) * X).astype(np.int32)
    return _accumulate(u, v, values)


def _accumulate(u: np.ndarray, v: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The mean of ``values`` in each fold bin (u, v), taken modulo FOLD; u, v are reused."""
    # modulo FOLD (a power of two) by masking: two's complement makes it right for negatives
    u &= FOLD - 1
    v &= FOLD - 1
    v <<= int(math.log2(FOLD))
    v |= u
    idx = v.ravel()
    total = np.bincount(idx, weights=values, minlength=FOLD * FOLD)
    count = np.bincount(idx, minlength=FOLD * FOLD)
    return (total / np.maximum(count, 1)).reshape(FOLD, FOLD)


def _mirror(tile: np.ndarray) -> np.ndarray:
    """The fold of the horizontally mirrored frame: u -> -u (mod FOLD)."""
    return np.roll(tile[:, ::-1], 1, axis=1)


class _Correlator:
    def __init__(self, tile: KeyedTile):
        t = render_cells(tile.search_cells(), FOLD)
        self.conj = np.conj(np.fft.fft2(t / np.linalg.norm(t)))

    def __call__(self, folded: np.ndarray) -> tuple[float, tuple[float, float]]:
        f = folded - folded.mean()
        corr = np.real(np.fft.ifft2(np.fft.fft2(f) * self.conj))
        iy, ix = np.unravel_index(int(np.argmax(corr)), corr.shape)
        sd = corr.std() + 1e-12
        # parabolic sub-bin refinement of the peak
        def sub(a, b, c):
            d = a - 2 * b + c
            return 0.0 if d >= 0 else 0.5 * (a - c) / d
        dy = iy + sub(corr[iy - 1, ix], corr[iy, ix], corr[(iy + 1) % FOLD, ix])
        dx = ix + sub(corr[iy, ix - 1], corr[iy, ix], corr[iy, (ix + 1) % FOLD])
        return float(corr[iy, ix] / sd), (float(dy), float(dx))


def align(grid: _Grid, corr: _Correlator, scale: float, angle: float) -> Alignment:
    key = (round(scale, 12), round(angle, 12), id(corr))
    hit = grid._cache.get(key)
    if hit is not None:  # the hill-climb revisits points it has scored
        return hit
    best = _align(grid, corr, scale, angle)
    grid._cache[key] = best
    return best


def _align(grid: _Grid, corr: _Correlator, scale: float, angle: float) -> Alignment:
    tile = fold(grid, scale, angle)
    best = None
    for flip in (False, True):
        score, shift = corr(_mirror(tile) if flip else tile)
        if best is None or score > best.score:
            best = Alignment(scale, angle, flip, shift, score, tile)
    return best


def _grid_scales(extent: int) -> np.ndarray:
    # a scale error e misplaces the edge of the frame by e * extent / 2 reference px;
    # keep that under ~1.5 px (a cell is 4 px) so the fold stays coherent
    step = min(0.04, 3.0 / max(extent, 1))
    n = int(math.ceil(math.log(SCALE_MAX / SCALE_MIN) / step)) + 1
    return np.exp(np.linspace(math.log(SCALE_MIN), math.log(SCALE_MAX), n))


def _refine(grid: _Grid, corr: _Correlator, best: Alignment) -> Alignment:
    """Local hill-climb in log-scale and angle with shrinking steps."""
    ds = 1.5 / grid.extent
    da = 1.5 / grid.extent
    for _ in range(3):
        improved = True
        while improved:
            improved = False
            moves = ((math.exp(ds), 0), (math.exp(-ds), 0), (1, da), (1, -da))
            # the four neighbours of the current best scored at once on all threads; the
            # climb below reads them from the cache in the same order, so it takes the same path
            origin = best
            thread_map(lambda m: align(grid, corr, origin.scale * m[0], origin.angle + m[1]), moves)
            for s_mul, a_add in moves:
                cand = align(grid, corr, best.scale * s_mul, best.angle + a_add)
                if cand.score > best.score:
                    best, improved = cand, True
        ds, da = ds / 2, da / 2
    return best


#: a sync score at the unchanged geometry (scale 1, no rotation) above which the quick path
#: tests that alignment first. Unmarked frames score ~3.5 there (the peak of 8,192
#: near-Gaussian bins), a marked clip re-encoded at CRF <= 30 or cropped 5-8; a chance peak
#: above 5 where the mark sits elsewhere (a resized clip) happens ~1 time in 500, so a failed
#: quick test goes on to the full search, and the p-value is bounded over the two looks.
QUICK_SYNC_SCORE = 5.0


def quick_align(res: np.ndarray, tile: KeyedTile) -> Alignment | None:
    """The refined alignment at the unchanged geometry when its sync score is convincing,
    else None. Most uploads are re-encodes or crops of the marked frame size: when this
    alignment's test detects, they are answered without the full scale/rotation search
    (which costs ~70 % of a detection)."""
    grid = _Grid(res)
    corr = _Correlator(tile)
    first = align(grid, corr, 1.0, 0.0)
    if first.score < QUICK_SYNC_SCORE:
        return None
    return _refine(grid, corr, first)


def search(res: np.ndarray, tile: KeyedTile, max_grid: int = 2_000_000) -> Alignment:
    """The best of :func:`search_candidates`."""
    return search_candidates(res, tile, max_grid)[0]


def search_candidates(res: np.ndarray, tile: KeyedTile, max_grid: int = 2_000_000) -> list[Alignment]:
    """Alignments of the keyed search chips with the whitened residual ``res``, best first.

    Candidates for (scale, angle) come from the spectrum's lattice peaks (any scale in
    0.4-2.4, angles within +-15 degrees) and from the autocorrelation; each is aligned
    (offset, flip) by the fold correlation with the search chips and the best few are
    refined. Uses the search chips (set A) only, never the test chips (set B). The refined
    few, best first, then the other candidates, best first."""
    grid = _Grid(res)
    corr = _Correlator(tile)
    seen: list[tuple[float, float]] = []
    cands = []
    for s, a in spectral_candidates(res) + candidate_scales(res, top=4):
        if all(abs(math.log(s / o[0])) > 0.01 or abs(a - o[1]) > 0.005 for o in seen):
            seen.append((s, a))
            cands.append(align(grid, corr, s, a))
    # the coherent backup for marks too weak for the spectrum (strong compression): a
    # log-spaced scale grid at 0 degrees on a centre crop, correlated with the search chips
    h, w = res.shape
    side = int(min(max(h, w), math.sqrt(max_grid / max(len(_grid_scales(384)), 1)) * 2, 512))
    crop = res[max(0, h // 2 - side // 2): h // 2 + side // 2, max(0, w // 2 - side // 2): w // 2 + side // 2]
    sub_grid = grid if crop.shape == res.shape else _Grid(crop)
    coarse = [align(sub_grid, corr, s, 0.0) for s in _grid_scales(sub_grid.extent)]
    coarse.sort(key=lambda a: a.score, reverse=True)
    cands += [align(grid, corr, a.scale, a.angle) for a in coarse[:6]]
    # and a finer 0-degree grid over scales >= 0.8 on a bigger centre crop at half
    # resolution (the mark's band at those scales survives 2 x 2 averaging): what finds
    # a weak, unrotated mark after strong compression
    side2 = min(max(h, w), 512) // 2 * 2
    c2 = res[max(0, h // 2 - side2 // 2): h // 2 + side2 // 2, max(0, w // 2 - side2 // 2): w // 2 + side2 // 2]
    half = _half(c2)
    scales2 = [s for s in _grid_scales(max(c2.shape)) if s >= 0.8]
    coarse2 = sorted((align(half, corr, s, 0.0) for s in scales2), key=lambda a: a.score, reverse=True)
    cands += [align(grid, corr, a.scale, a.angle) for a in coarse2[:6]]
    cands.sort(key=lambda a: a.score, reverse=True)
    refined = [_refine(grid, corr, a) for a in cands[:4]]
    # stable: equal scores keep the candidates' order, as max() did
    return sorted(refined, key=lambda a: a.score, reverse=True) + cands[4:]


def _half(res: np.ndarray) -> _Grid:
    """A 2 x 2 block-averaged grid of ``res`` (the mark's band at scales >= 0.8 survives it)."""
    c = res[: res.shape[0] // 2 * 2, : res.shape[1] // 2 * 2]
    return _Grid(c.reshape(c.shape[0] // 2, 2, c.shape[1] // 2, 2).mean(axis=(1, 3)), step=2.0)


def warp_align(res: np.ndarray, tile: KeyedTile, best: Alignment, starts: list[Alignment]) -> Alignment:
    """The best, by sync score with the search chips (set A only, like :func:`search`), of
    the similarity alignment ``best`` and of each of ``starts`` refined by
    :func:`watermark.pixel.warp.refine_warp` (on a half-resolution grid: ``starts`` are at
    scales >= 0.8, where the mark's band survives 2 x 2 averaging)."""
    grid = _Grid(res)
    coarse = _half(res) if min(res.shape) >= 64 else grid
    corr = _Correlator(tile)
    for al in starts:
        # only the start's scale and angle are used: the warp is scored afresh on ``grid``
        warped = refine_warp(grid, coarse, corr, al)
        if warped.score > best.score:
            best = warped
    return best


def frame_template(tile: KeyedTile, al: Alignment, shape: tuple[int, int], step: int = 1) -> np.ndarray:
    """The search chips as they should appear in a frame of ``shape`` at alignment ``al``
    (at every ``step``-th pixel in both directions: ``[::step, ::step]`` of the whole)."""
    h, w = shape
    t = render_cells(tile.search_cells(), FOLD)
    # undo the sub-bin offset found by the correlator, then the mirror
    t = np.roll(t, (int(round(al.shift[0])), int(round(al.shift[1]))), axis=(0, 1))
    if al.flip:
        t = _mirror(t)
    yy, xx = np.mgrid[0:h:step, 0:w:step].astype(np.float32)
    y, x = yy - h / 2, xx - w / 2
    if al.warp is not None:
        y, x = warp_coords(y[:, 0], x[0, :], al.warp)
    c, s = math.cos(al.angle), math.sin(al.angle)
    k = 1.0 / (al.scale * BIN)
    iu = np.floor((c * x + s * y) * k).astype(np.int64) % FOLD
    iv = np.floor((-s * x + c * y) * k).astype(np.int64) % FOLD
    return t[iv, iu].astype(np.float32)


def cell_values(al: Alignment) -> np.ndarray:
    """The CELLS x CELLS chip estimates at an alignment (mirror and offset undone)."""
    tile = _mirror(al.tile) if al.flip else al.tile
    return read_cells(tile, al.shift).reshape(CELLS * CELLS)
