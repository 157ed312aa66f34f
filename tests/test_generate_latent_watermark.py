"""The latent watermark: exact N(0,1) noise, keyed payload, honest p-values, inversion."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from generate.latent_watermark import (
    ALG_ID, LatentWatermark, decode_noise, keystream_bits, make_noise, suspect_frames,
)
from provenance.errors import UsageError

KEY = bytes(range(32))
PAYLOAD = bytes.fromhex("a1b2c3d4e5f6")


def test_noise_keeps_the_standard_normal_distribution():
    z = make_noise((1, 4, 9, 32, 32), PAYLOAD, KEY, seed=7).ravel().astype(np.float64)
    n = z.size
    # the whole distribution: Kolmogorov-Smirnov against N(0, 1)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # the sign is what carries the bits: it must still be a fair coin
    assert stats.binomtest(int((z > 0).sum()), n, 0.5).pvalue > 1e-3
    # moments: mean 0, variance 1, skew 0, excess kurtosis 0 (tolerances ~5 standard errors)
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(stats.skew(z)) < 5 * np.sqrt(6 / n)
    assert abs(stats.kurtosis(z)) < 5 * np.sqrt(24 / n)
    # neighbours are uncorrelated (the repetition code is shuffled and ciphered)
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 5 / np.sqrt(n)


def test_an_all_zero_payload_is_still_fair():
    # without the cipher, a constant payload would make every sign equal
    z = make_noise((4, 5, 16, 16), bytes(6), KEY, seed=1)
    assert stats.binomtest(int((z > 0).sum()), z.size, 0.5).pvalue > 1e-3


def test_noise_is_deterministic_and_keyed():
    a = make_noise((4, 3, 8, 8), PAYLOAD, KEY, seed=1)
    assert np.array_equal(a, make_noise((4, 3, 8, 8), PAYLOAD, KEY, seed=1))
    # the seed sets magnitudes only; the key sets signs
    b = make_noise((4, 3, 8, 8), PAYLOAD, KEY, seed=2)
    assert np.array_equal(a > 0, b > 0) and not np.allclose(np.abs(a), np.abs(b))
    c = make_noise((4, 3, 8, 8), PAYLOAD, bytes(32), seed=1)
    assert 0.4 < np.mean((a > 0) == (c > 0)) < 0.6
    assert keystream_bits(KEY, 1000).mean() == pytest.approx(0.5, abs=0.06)


def test_decode_recovers_the_payload_through_noise_and_localises_a_replaced_frame():
    rng = np.random.default_rng(0)
    z = make_noise((1, 4, 5, 16, 16), PAYLOAD, KEY, seed=3)
    noisy = z + rng.normal(0, 1.0, z.shape)          # SNR 0 dB: ~75% of signs survive
    noisy[:, :, 3] = rng.normal(size=noisy[:, :, 3].shape)   # latent frame 3 replaced
    d = decode_noise(noisy, KEY, time_axis=2)
    assert d.detected and d.payload == PAYLOAD and d.bit_accuracy(PAYLOAD) == 1.0
    assert d.p_value < 1e-30
    assert suspect_frames(d) == [3]
    assert len(d.per_frame) == 5 and d.per_frame[3] < 0.6 < min(d.per_frame[:3])


def test_p_values_are_calibrated_on_unmarked_noise():
    rng = np.random.default_rng(1)
    ps = np.array([decode_noise(rng.normal(size=(4, 2, 8, 8)), KEY).p_value for _ in range(300)])
    assert ps.min() > 1e-6                       # no false detection
    assert np.mean(ps <= 0.05) <= 0.05 + 0.03    # union bound: conservative, never anti-conservative
    # Bonferroni over a search makes it larger still
    z = rng.normal(size=(4, 2, 8, 8))
    assert decode_noise(z, KEY, searched=10).p_value >= decode_noise(z, KEY).p_value


def test_bad_inputs_are_usage_errors():
    with pytest.raises(UsageError, match="6 bytes"):
        make_noise((4, 4), b"short", KEY)
    with pytest.raises(UsageError, match="16 bytes"):
        make_noise((4, 4, 4), PAYLOAD, b"k")
    with pytest.raises(UsageError, match="cannot carry"):
        make_noise((2, 3), PAYLOAD, KEY)
    wm = LatentWatermark(pipe=None, key=KEY)
    assert wm.alg_id == ALG_ID == "org.framemark.latent.1"
    with pytest.raises(UsageError, match="generation time"):
        wm.embed(None, PAYLOAD)


@pytest.fixture(scope="module")
def tiny_wan():
    import torch

    from generate.model import TINY_CONFIG, build_pipeline

    torch.manual_seed(0)
    cfg = dataclasses.replace(TINY_CONFIG, height=64, width=64, num_frames=9, steps=6)
    return build_pipeline(cfg)


def test_flow_matching_inversion_through_the_pipeline_recovers_the_payload(tiny_wan):
    import torch

    from generate.inversion import invert_latents
    from generate.latent_watermark import make_noise_tensor
    from generate.pipeline import latent_shape, text_inputs

    pipe = tiny_wan
    shape = latent_shape(pipe, 9, 64, 64)
    assert shape == (1, 4, 3, 16, 16)
    z = make_noise_tensor(shape, PAYLOAD, KEY, seed=5)
    with torch.no_grad():
        x0 = pipe(**text_inputs(pipe, "a red circle moving left", guidance=3.0), latents=z, num_frames=9,
                  height=64, width=64, num_inference_steps=6, guidance_scale=3.0, output_type="latent").frames
    # the sampled latent is far from the noise; the inversion brings it back
    recovered = invert_latents(pipe, x0, steps=6, frames=9, height=64, width=64)
    assert np.corrcoef(recovered.flatten(), z.flatten())[0, 1] > np.corrcoef(x0.flatten(), z.flatten())[0, 1]
    d = decode_noise(recovered, KEY, time_axis=2)
    assert d.detected and d.payload == PAYLOAD
    # and a clean latent that was never marked is not detected
    assert not decode_noise(invert_latents(pipe, torch.randn_like(x0), steps=6, frames=9, height=64, width=64),
                            KEY).detected


def test_latent_algorithm_behind_the_watermark_interface(tiny_wan):
    from generate.latent_watermark import latent_algorithm, register_latent_algorithm
    from generate.pipeline import check_inputs, sample_marked
    from provenance.media import Clip
    from watermark.base import ExtractResult
    from watermark.registry import algorithms, get_algorithm

    register_latent_algorithm()
    assert ALG_ID in algorithms()
    wm = get_algorithm(ALG_ID, KEY, pipe=tiny_wan, steps=2)
    assert isinstance(wm, LatentWatermark) and latent_algorithm(KEY, pipe=tiny_wan).key == KEY
    s = check_inputs(tiny_wan, "a red circle", steps=2, frames=9)
    clip = Clip(frames=sample_marked(tiny_wan, s, PAYLOAD, KEY), fps=8.0)
    res = wm.extract(clip)
    # an untrained VAE does not reconstruct, so nothing survives decode -> encode: the
    # honest answer is "not detected" with a valid p-value and the per-frame evidence laid out
    assert isinstance(res, ExtractResult) and res.alg == ALG_ID
    assert 0.0 <= res.p_value <= 1.0 and res.frames_used == 9 and len(res.per_frame) == 9
    assert res.bits.shape == (48,) and len(res.extra["latent_frame_agreement"]) == 3
    assert res.detected is (res.p_value <= 1e-6)


def test_concurrent_detection_on_one_shared_model_is_safe(tmp_path):
    """The service's worker threads share one loaded model: concurrent extractions must give
    the same answer as one at a time (a scheduler swap or VAE cache race used to crash)."""
    import dataclasses
    import os
    import threading
    import time

    import torch
    from threadpoolctl import threadpool_limits

    from generate.latent_watermark import latent_algorithm
    from generate.model import TINY_CONFIG, build_pipeline
    from provenance.media import Clip

    torch.manual_seed(0)
    cfg = dataclasses.replace(TINY_CONFIG, height=32, width=32, num_frames=5, steps=3)
    pipe = build_pipeline(cfg, with_text_encoder=False)
    alg = latent_algorithm(os.urandom(32), pipe=pipe)
    rng = np.random.default_rng(0)
    clips = [Clip(rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8), 8.0) for _ in range(4)]
    alone = [alg.extract(c).extra["agreement"] for c in clips]
    # Threads as the service runs them: BLAS on one thread (detect.service.runner's
    # single_threaded_blas) and one intra-op thread, so what is tested is the pipeline's
    # Python-level state under its lock. Pools entered from four Python threads on a 2-core
    # box have spun without end in CI; daemon threads and a deadline turn such a spin into a
    # failure here instead of a run that never ends.
    together: list = [None] * len(clips)

    def run(i: int) -> None:
        together[i] = alg.extract(clips[i]).extra["agreement"]

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            workers = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(clips))]
            for w in workers:
                w.start()
            deadline = time.monotonic() + 240
            for w in workers:
                w.join(timeout=max(0.0, deadline - time.monotonic()))
            stuck = [w.name for w in workers if w.is_alive()]
    finally:
        torch.set_num_threads(threads)
    assert not stuck, f"detection threads still running after 240 s: {stuck}"
    assert together == alone
