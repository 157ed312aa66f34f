"""The pixel watermark's core: ECC, statistics, registry, embed -> extract on real pixels."""

from __future__ import annotations

import numpy as np
import pytest

from provenance.errors import InputError, UsageError
from provenance.media import Clip
from watermark import DETECTION_P_VALUE, PIXEL_ALG_ID, algorithms, bit_accuracy, get_algorithm
from watermark.ecc import CODED_BITS, decode_identifier, encode_identifier, viterbi_decode
from watermark.stats import agreement_p_value, log10_binomial_sf, randomized_p_value, weighted_sign_test

KEY = bytes(range(32))


def textured_clip(t=16, h=144, w=176, seed=0, fps=24.0) -> Clip:
    """Smooth random texture panning slowly: camera-like content with real structure."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    big = gaussian_filter(rng.normal(0, 1, (h + 2 * t, w + 2 * t, 3)), (2.0, 2.0, 0)) * 60 + 128
    frames = np.stack([big[i:i + h, 2 * i:2 * i + w] for i in range(t)])
    return Clip(frames=np.clip(frames, 0, 255).astype(np.uint8), fps=fps)


def test_ecc_roundtrip_with_noise():
    rng = np.random.default_rng(1)
    for _ in range(20):
        ident = rng.bytes(6)  # seeded: os.urandom made the noise test flaky
        coded = encode_identifier(ident)
        assert coded.shape == (CODED_BITS,)
        got = decode_identifier((2.0 * coded - 1) * 2 + rng.normal(0, 1.6, CODED_BITS))
        assert got.crc_ok and got.identifier == ident


def test_the_list_decoder_reads_an_identifier_whose_most_likely_path_is_wrong():
    """Noise at which plain Viterbi's best path fails the CRC on some codewords: the
    list decoder finds the true identifier further down its list, and never a wrong one."""
    rng = np.random.default_rng(5)
    rescued = 0
    for _ in range(40):
        ident = rng.bytes(6)
        llr = (2.0 * encode_identifier(ident) - 1) + rng.normal(0, 1.2, CODED_BITS)
        got, plain = decode_identifier(llr), decode_identifier(llr, list_size=1)
        assert np.array_equal(plain.info, viterbi_decode(llr))
        assert not got.crc_ok or got.identifier == ident
        if got.crc_ok and not plain.crc_ok:
            assert got.rank > 0
            rescued += 1
    assert rescued >= 5  # 9 of the 13 plain failures at this seed


def test_ecc_rejects_noise():
    rng = np.random.default_rng(2)
    passes = sum(decode_identifier(rng.normal(0, 1, CODED_BITS))[1] for _ in range(30))
    assert passes <= 1  # a random path passes the CRC with probability 2^-16


def test_binomial_tail_exact():
    from scipy.stats import binom

    for n, k in [(10, 7), (256, 200), (256, 128), (50, 0)]:
        assert log10_binomial_sf(k, n) == pytest.approx(np.log10(binom.sf(k - 1, n, 0.5)), abs=1e-9)
    assert log10_binomial_sf(256, 256) == pytest.approx(-256 * np.log10(2))
    p, _, k, n = agreement_p_value(np.array([1.0, -2.0, 0.0, 3.0]), np.array([1, -1, 1, -1]))
    assert (k, n) == (2, 3) and p == pytest.approx(0.5)


def test_weighted_sign_test_is_the_exact_subset_sum_tail():
    """Against brute force: every one of the 2^12 sign patterns, equally likely under no mark."""
    import itertools

    rng = np.random.default_rng(5)
    values = rng.standard_t(3, size=12)
    values[3] = 0.0  # no sign: left out
    signs = rng.choice([-1.0, 1.0], size=12)
    res = weighted_sign_test(values, signs, levels=8, clip=2.0)
    mag = np.abs(values)
    w = np.rint(8 * np.minimum(mag / (2.0 * np.median(mag[mag > 0])), 1.0))
    assert res.score == int(w[np.sign(values) == signs].sum()) and res.n == 11
    sums = [float(np.dot(w, pattern)) for pattern in itertools.product([0, 1], repeat=12)]
    assert 10 ** res.log10_p == pytest.approx(np.mean(np.asarray(sums) >= res.score), rel=1e-9)
    assert 10 ** res.log10_p_above == pytest.approx(np.mean(np.asarray(sums) > res.score), rel=1e-9)


def test_weighted_sign_test_calibrated_and_more_powerful():
    from scipy.stats import kstest

    rng = np.random.default_rng(9)
    rand, weighted, plain = [], [], []
    for _ in range(400):  # no mark: heavy-tailed content values, fair keyed signs
        v = rng.standard_t(4, size=256) * rng.uniform(0.5, 2)
        s = rng.choice([-1.0, 1.0], size=256)
        r = weighted_sign_test(v, s)
        rand.append(randomized_p_value(r.p_value, r.log10_p_above, rng.random()))
    assert kstest(rand, "uniform").pvalue > 0.01 and min(rand) > 1e-4
    for _ in range(20):  # a weak mark: the magnitudes carry evidence the signs alone lose
        s = rng.choice([-1.0, 1.0], size=256)
        v = rng.normal(size=256) + 0.3 * s
        weighted.append(weighted_sign_test(v, s).log10_p)
        plain.append(agreement_p_value(v, s)[1])
    assert np.median(weighted) < np.median(plain)
    assert weighted_sign_test(np.ones(256), np.ones(256)).log10_p == pytest.approx(-256 * np.log10(2))
    assert weighted_sign_test(np.zeros(8), np.ones(8)).p_value == 1.0


def test_registry():
    assert PIXEL_ALG_ID in algorithms()
    alg = get_algorithm(PIXEL_ALG_ID, key=KEY)
    assert alg.alg_id == PIXEL_ALG_ID
    with pytest.raises(UsageError):
        get_algorithm("org.example.nothing", key=KEY)


def test_embed_extract_roundtrip_quality():
    clip = textured_clip()
    alg = get_algorithm(PIXEL_ALG_ID, key=KEY)
    ident = bytes.fromhex("a1b2c3d4e5f6")
    marked = alg.embed(clip, ident)
    assert marked.frames.shape == clip.frames.shape and marked.fps == clip.fps
    mse = np.mean((marked.frames.astype(float) - clip.frames) ** 2)
    assert 10 * np.log10(255 ** 2 / mse) >= 40.0
    r = alg.extract(marked)
    assert r.detected and r.p_value <= DETECTION_P_VALUE and r.payload == ident
    assert bit_accuracy(r, ident) == 1.0
    assert r.frames_used == clip.num_frames
    assert r.bits.shape == (CODED_BITS,) and np.all((r.confidence >= 0) & (r.confidence <= 1))
    # the same clip, unmarked, and the marked clip under another key: nothing
    for other in (alg.extract(clip), get_algorithm(PIXEL_ALG_ID, key=bytes(32)).extract(marked)):
        assert not other.detected and other.payload is None and other.p_value > DETECTION_P_VALUE


def test_bad_clips():
    alg = get_algorithm(PIXEL_ALG_ID, key=KEY)
    tiny = Clip(frames=np.zeros((3, 8, 8, 3), np.uint8), fps=10)
    with pytest.raises(InputError):
        alg.extract(tiny)
    with pytest.raises(InputError):
        alg.embed(tiny, b"\0" * 6)
    with pytest.raises(UsageError):
        alg.embed(textured_clip(t=2), b"\0" * 5)
    with pytest.raises(UsageError):
        get_algorithm(PIXEL_ALG_ID, key=b"short")


def test_rotation_found_by_spectral_search():
    from detect.attacks.geometry import Rotate

    clip = textured_clip(t=8, h=256, w=256, seed=3)
    alg = get_algorithm(PIXEL_ALG_ID, key=KEY)
    marked = alg.embed(clip, bytes(6))
    r = alg.extract(Rotate(7)(marked))
    assert r.detected and abs(abs(r.extra["rotation_deg"]) - 7) < 0.7


def test_moving_region_is_searched_on_its_own():
    """A marked clip shown small inside a static 'desktop' (screen recording)."""
    from watermark.pixel import active_box

    clip = textured_clip(t=8, h=144, w=176, seed=4)
    alg = get_algorithm(PIXEL_ALG_ID, key=KEY)
    marked = alg.embed(clip, bytes(6))
    desk = np.zeros((8, 300, 400, 3), np.uint8)
    desk[:] = np.linspace(40, 200, 400)[None, None, :, None].astype(np.uint8)
    desk[:, 20:40, 10:390] = 230  # a title bar
    desk[:, 80:80 + 144, 120:120 + 176] = marked.frames
    from provenance.media import Clip as _Clip

    act = np.abs(np.diff(desk.astype(np.float32).mean(axis=3), axis=0)).mean(axis=0)
    y0, y1, x0, x1 = active_box(act)
    assert 80 <= y0 < y1 <= 224 and 120 <= x0 < x1 <= 296
    assert alg.extract(_Clip(frames=desk, fps=24.0)).detected


@pytest.mark.parametrize("frames", [1, 11, 19])
def test_threads_give_the_same_bits_as_one(monkeypatch, frames):
    """Embedding and detection split per-frame work over threads (watermark.pixel.threads):
    the marked frames and every detection figure are bit-identical to one thread."""
    from watermark.pixel import threads

    clip = textured_clip(t=frames, h=144, w=176, seed=frames)
    alg = get_algorithm(PIXEL_ALG_ID, key=b"t" * 32)
    ident = bytes.fromhex("a1b2c3d4e5f6")
    runs = []
    for n in (1, 2, 3):
        monkeypatch.setattr(threads, "WORKERS", n)
        marked = alg.embed(clip, ident)
        r = alg.extract(marked)
        runs.append((marked.frames.tobytes(), r.p_value, r.payload, r.bits.tobytes(), r.confidence.tobytes(),
                     tuple(r.per_frame), r.extra["scale"], r.extra["sync_score"]))
    assert runs[0] == runs[1] == runs[2]
    assert frames == 1 or runs[0][2] == ident  # one small frame carries too little to decode


def test_thread_pool_survives_fork_and_a_bad_setting(monkeypatch):
    """A process forked after the pool exists (detect.batch's workers) gets its own pool
    instead of waiting forever on the parent's; a bad FRAMEMARK_THREADS falls back."""
    import os

    from watermark.pixel import threads

    monkeypatch.setattr(threads, "WORKERS", 2)
    assert threads.thread_map(lambda x: x * x, range(5)) == [0, 1, 4, 9, 16]
    pid = os.fork()
    if pid == 0:  # child: must finish, not hang (SIGALRM kills it if it waits on a dead pool)
        import signal

        signal.alarm(30)
        ok = threads.thread_map(lambda x: x + 1, range(4)) == [1, 2, 3, 4]
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    monkeypatch.setenv("FRAMEMARK_THREADS", "lots")
    assert threads._workers_from_env() >= 1
    monkeypatch.setenv("FRAMEMARK_THREADS", "1")
    assert threads._workers_from_env() == 1


def test_perspective_and_lens_are_undone_by_the_warp():
    """A camera filming the screen (corners moved 5 %, barrel lens): the similarity search
    alone locks onto part of the frame; the warp refinement (set A only) finds the rest."""
    from detect.attacks.camcord import Camcord
    from watermark.pixel import PixelWatermark, mean_luma

    clip = textured_clip(t=6, h=288, w=384, seed=5)
    alg = PixelWatermark(KEY)
    attacked = Camcord("geometry")(alg.embed(clip, bytes(range(6))))
    r = alg.extract(attacked)
    assert r.detected and r.payload == bytes(range(6))
    assert r.extra["warp"] is not None and any(r.extra["warp"])
    assert len(r.per_frame) == 6 and min(r.per_frame) > 0.01  # the trace follows the warp
    # the same frames without the warp: far weaker evidence
    from watermark.pixel.detect import search, whiten
    from watermark.pixel.pattern import KeyedTile

    similarity = search(whiten(mean_luma(attacked.frames)), KeyedTile.from_key(KEY))
    assert similarity.score < r.extra["sync_score"] - 1.0


def test_the_frame_or_its_moving_box_is_chosen_after_the_warp():
    """Detection also searches the moving box (a filmed screen inside its bezel, a player
    window). Which view wins is decided on the refined (warped) sync scores, not on the
    similarity search's: a view can win that and still lose after the warp (cityCC0
    camcorded read log10 p -0.0 that way, -10.3 now). Set A only in both."""
    from detect.attacks.camcord import Camcord
    from watermark.pixel import PixelWatermark, mean_luma, refined_alignment
    from watermark.pixel.detect import search_candidates, whiten
    from watermark.pixel.pattern import KeyedTile

    alg, tile = PixelWatermark(KEY), KeyedTile.from_key(KEY)
    filmed = Camcord("geometry")(alg.embed(textured_clip(t=6, h=288, w=384, seed=5), bytes(range(6))))
    warped_view = whiten(mean_luma(filmed.frames))
    # an unwarped but noisier view: better before the warp, worse after it
    marked = alg.embed(textured_clip(t=6, h=288, w=384, seed=1), bytes(range(6)))
    noise = np.random.default_rng(0).normal(0, 20, marked.frames.shape[1:3])
    noisy_view = whiten(mean_luma(marked.frames) + noise)
    assert search_candidates(noisy_view, tile)[0].score > search_candidates(warped_view, tile)[0].score
    al, index = refined_alignment([noisy_view, warped_view], tile)
    assert index == 1 and al.warp is not None
    same, first = refined_alignment([warped_view, warped_view], tile)
    assert first == 0 and same.score == al.score  # ties keep the earlier view (the whole frame)


def test_the_coarse_energy_map_stays_close_to_the_full_resolution_gaussian():
    # detection equalises local energy with a sigma-12 Gaussian computed on 4 x 4 blocks
    # (docs/watermark.md: ~0.3 % mean deviation from the exact filter, under 2 % anywhere
    # when the size is a multiple of the block; for other sizes the padded last block moves
    # the reflection by 1-3 px, up to ~6 % within a sigma of that edge)
    from scipy.ndimage import gaussian_filter

    from watermark.pixel.detect import ENERGY_BLOCK, ENERGY_SIGMA, local_energy

    rng = np.random.default_rng(3)
    for h, w in ((360, 640), (143, 257)):
        sq = rng.standard_normal((h, w)) ** 2
        sq[: h // 3] *= 4.0  # a step in energy, as a busy region beside a flat one
        exact = gaussian_filter(sq, ENERGY_SIGMA, mode="reflect")
        approx = local_energy(sq)
        assert approx.shape == (h, w)
        rel = np.abs(approx - exact) / exact
        assert rel.mean() < 0.01, rel.mean()
        if h % ENERGY_BLOCK == 0 and w % ENERGY_BLOCK == 0:
            assert rel.max() < 0.025, rel.max()
        else:
            assert rel.max() < 0.1, rel.max()
            far = rel[: h - 3 * int(ENERGY_SIGMA), : w - 3 * int(ENERGY_SIGMA)]  # away from the padded edges
            assert far.max() < 0.025, far.max()


def test_a_chance_sync_peak_at_the_unchanged_geometry_does_not_end_the_search():
    """A resized upload whose frame happens to sync at scale 1 (a chance peak: retroMars2018
    at half size once scored 5.13 there) must still be searched at every scale; the p-value
    then pays for the two looks."""
    from detect.attacks.geometry import Resize
    from watermark.pixel import _test, mean_luma
    from watermark.pixel.detect import QUICK_SYNC_SCORE, quick_align, whiten
    from watermark.pixel.embed import PERIOD
    from watermark.pixel.pattern import KeyedTile, render_cells

    alg = get_algorithm(PIXEL_ALG_ID, key=KEY)
    clip = textured_clip(t=8, h=384, w=384, seed=5)
    ident = bytes.fromhex("a1b2c3d4e5f6")
    small = Resize(0.5)(alg.embed(clip, ident))
    # a decoy: the search chips alone (no test chips) at the unchanged geometry, weak enough
    # that the real mark at scale 0.5 still syncs better
    tile = KeyedTile.from_key(KEY)
    px = render_cells(tile.search_cells(), PERIOD)
    h, w = small.frames.shape[1:3]
    decoy = 0.5 * np.tile(px / px.std(), (-(-h // PERIOD), -(-w // PERIOD)))[:h, :w]

    def with_decoy(frames):
        return Clip(np.clip(frames + decoy[None, :, :, None], 0, 255).round().astype(np.uint8), 24.0)

    clip_with_decoy = with_decoy(small.frames.astype(np.float32))
    quick = quick_align(whiten(mean_luma(clip_with_decoy.frames)), tile)
    assert quick is not None and quick.score > QUICK_SYNC_SCORE  # the quick path is taken...
    assert _test(quick, tile).p_value > DETECTION_P_VALUE      # ...and its test alone would miss
    r = alg.extract(clip_with_decoy)
    assert r.detected and r.payload == ident and r.extra["looks"] == 2
    assert abs(r.extra["scale"] - 0.5) < 0.02
    # the same decoy on unmarked frames: two looks, nothing found, p bounded by both
    r0 = alg.extract(with_decoy(clip.frames[:, ::2, ::2].astype(np.float32)))
    assert not r0.detected and r0.extra["looks"] == 2 and r0.p_value > DETECTION_P_VALUE
    assert r0.p_value == pytest.approx(10 ** r0.extra["log10_p"], rel=1e-6)


def test_a_frames_mask_does_not_depend_on_the_frames_beside_it():
    """Embedding keeps the gain sample's masks and reuses them in its main pass
    (watermark.pixel.embed): that is exact only if a frame's half-resolution luma and mask
    are the same whichever batch computes them."""
    from watermark.pixel.mask import half_luma, half_masks

    frames = textured_clip(t=11, h=144, w=176, seed=4).frames
    batch = half_luma(frames)
    masks = half_masks(batch)
    for k in (0, 5, 10):
        assert np.array_equal(half_luma(frames[k:k + 1])[0], batch[k])
        assert np.array_equal(half_luma(frames[[k, 10 - k]])[0], batch[k])
        assert np.array_equal(half_masks(batch[k:k + 1])[0], masks[k])
