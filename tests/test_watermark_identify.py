"""Identifying a detected mark among the identifiers a manifest store knows."""

from __future__ import annotations

import base64
import os

import numpy as np

from watermark.base import ExtractResult
from watermark.ecc import encode_identifier
from watermark.identify import match_identifier, match_votes


def _noisy_codeword(identifier: bytes, error_rate: float, rng) -> np.ndarray:
    code = encode_identifier(identifier)
    flips = rng.random(code.size) < error_rate
    return (code ^ flips).astype(np.uint8)


def test_a_noisy_codeword_is_matched_among_many_candidates():
    rng = np.random.default_rng(1)
    for _ in range(10):
        true = os.urandom(6)
        cands = [os.urandom(6) for _ in range(500)] + [true]
        # 15 % coded-bit errors, as measured on the 128x128 demo clip after H.264 CRF 23,
        # where the blind Viterbi + CRC decode fails about half the time
        m = match_identifier(_noisy_codeword(true, 0.15, rng), cands)
        assert m is not None and m.identifier == true and m.log10_p <= -6 and m.candidates == 501


def test_no_match_when_the_identifier_is_unknown_or_the_bits_are_noise():
    rng = np.random.default_rng(2)
    for _ in range(15):
        cands = [os.urandom(6) for _ in range(500)]
        assert match_identifier(_noisy_codeword(os.urandom(6), 0.2, rng), cands) is None
        assert match_identifier(rng.integers(0, 2, 210).astype(np.uint8), cands) is None
    assert match_identifier(np.zeros(210, np.uint8), []) is None


def test_fuse_identifies_a_crc_failed_detection_through_the_store(keys_dir):
    from detect.fuse import _identify_in_store
    from provenance.store import ManifestStore
    from watermark.registry import PIXEL_ALG_ID

    true = os.urandom(6)
    store = ManifestStore(keys_dir)
    for ident in [os.urandom(6) for _ in range(50)] + [true]:
        store.add(alg=PIXEL_ALG_ID, value=base64.b64encode(ident).decode())
    bits = _noisy_codeword(true, 0.2, np.random.default_rng(3))
    res = ExtractResult(alg=PIXEL_ALG_ID, detected=True, p_value=1e-9, payload=None, bits=bits,
                        confidence=np.ones(bits.size), frames_used=10, per_frame=[], extra={})
    from watermark.registry import get_algorithm

    found, n = _identify_in_store(get_algorithm(PIXEL_ALG_ID, os.urandom(32)), res, keys_dir)
    assert n >= 51 and found is not None and found.identifier == true  # the keys folder may hold others


def test_a_crc_failed_pixel_detection_reports_the_store_match_as_its_payload(tmp_path):
    """A real marked 128x128 clip after H.264 CRF 23: detected (exact p), but one tile's
    payload chips carry so many coded-bit errors that none of the list decoder's 16 most
    likely paths passes the CRC. The detect report then stands by the identifier the store
    matches: ``payload`` (JSON and card), with ``identified`` saying how and
    ``blind_payload`` None, as for the latent mark."""
    from detect.card import render_card
    from detect.fuse import detect_file
    from provenance.media import Clip, read_clip, write_clip
    from provenance.store import ManifestStore
    from tests.conftest import moving_frames
    from tests.test_service_support import make_keys_dir
    from watermark.registry import PIXEL_ALG_ID, get_algorithm

    rng = np.random.default_rng(1)  # a key/identifier pair measured to fail the CRC here
    key, true = rng.bytes(32), rng.bytes(6)
    kd = make_keys_dir(tmp_path / "keys", watermark_key=key)
    store = ManifestStore(kd)
    for ident in [rng.bytes(6) for _ in range(50)] + [true]:
        store.add(alg=PIXEL_ALG_ID, value=base64.b64encode(ident).decode())
    alg = get_algorithm(PIXEL_ALG_ID, key)
    marked = alg.embed(Clip(frames=moving_frames(17, (128, 128), seed=3), fps=24.0), true)
    path = tmp_path / "upload.mp4"
    write_clip(path, marked, crf=23, preset="medium")
    blind = alg.extract(read_clip(path))
    assert blind.detected and blind.payload is None and not blind.extra["crc_ok"]

    report = detect_file(path, keys_dir=kd, latent=False, classifier=False)
    entry = next(w for w in report["watermarks"] if w["alg"] == PIXEL_ALG_ID)
    assert entry["detected"] and entry["payload"] == true.hex()
    assert entry["identified"]["method"] == "manifest-store match" and entry["identified"]["candidates"] == 51
    assert entry["blind_payload"] is None
    assert f"id {true.hex()} (matched in the manifest store)" in render_card(report)


def _latent_noise(identifier: bytes, key: bytes, flip: float, rng, n: int = 10240) -> np.ndarray:
    """Marked noise whose signs a VAE round trip left right only with probability 1 - flip."""
    from generate.latent_watermark import make_noise

    z = make_noise((n,), identifier, key, seed=int(rng.integers(1 << 30)))
    return np.where(rng.random(n) < flip, -z, z)


def test_vote_matching_finds_a_weak_latent_mark_the_blind_decode_misses():
    from generate.latent_watermark import decode_noise

    rng = np.random.default_rng(4)
    key = rng.bytes(32)
    for _ in range(5):
        true = rng.bytes(6)
        cands = [rng.bytes(6) for _ in range(2000)] + [true]
        # sign agreement 0.54 on 10,240 elements: the blind decode gets some bits wrong
        d = decode_noise(_latent_noise(true, key, 0.46, rng), key)
        assert d.payload != true
        m = match_votes(d.ones, d.counts, cands)
        assert m is not None and m.identifier == true and m.log10_p <= -6 and m.bits == 10240


def test_vote_matching_p_values_are_calibrated_without_a_mark():
    """Unmarked noise against 200 candidates, 300 times: the union-bounded p never claims
    a match, and its smallest values are not smaller than chance allows."""
    from generate.latent_watermark import decode_noise

    rng = np.random.default_rng(5)
    key = rng.bytes(32)
    cands = [rng.bytes(6) for _ in range(200)]
    lows = 0
    for _ in range(300):
        d = decode_noise(rng.standard_normal(4800).astype(np.float32), key)
        assert match_votes(d.ones, d.counts, cands) is None
        agree = [int(np.where(np.unpackbits(np.frombuffer(c, np.uint8)).astype(bool), d.ones, d.counts - d.ones).sum())
                 for c in cands]
        from watermark.stats import log10_binomial_sf

        lows += (log10_binomial_sf(max(agree), int(d.counts.sum())) + np.log10(len(cands))) <= np.log10(0.05)
    assert lows <= 0.05 * 300 + 3 * np.sqrt(0.05 * 0.95 * 300)


def test_vote_matching_rejects_bad_tallies():
    import pytest

    rng = np.random.default_rng(7)
    with pytest.raises(ValueError):
        match_votes(np.array([3]), np.array([2]), [rng.bytes(6)])
    with pytest.raises(ValueError):
        match_votes(np.zeros(8), np.ones(8), [rng.bytes(6)])
    assert match_votes(np.zeros(48), np.ones(48), []) is None


def test_fuse_latent_store_test_is_bonferroni_combined(keys_dir):
    """A weak latent mark (blind decode not detected) is detected through the store with
    p = 2 x the store's p; unmarked noise is not, and its p is doubled too."""
    from detect.fuse import _latent_store_test
    from generate.latent_watermark import ALG_ID, LatentWatermark, decode_noise
    from provenance.store import ManifestStore

    rng = np.random.default_rng(6)
    key = rng.bytes(32)
    true = rng.bytes(6)
    store = ManifestStore(keys_dir)
    for ident in [rng.bytes(6) for _ in range(100)] + [true]:
        store.add(alg=ALG_ID, value=base64.b64encode(ident).decode())
    alg = LatentWatermark(pipe=None, key=key)

    def run(noise):
        d = decode_noise(noise, key)
        res = ExtractResult(alg=ALG_ID, detected=d.detected, p_value=d.p_value, payload=None, bits=d.bits,
                            confidence=d.confidence, frames_used=17, per_frame=[],
                            extra={"vote_ones": d.ones, "vote_counts": d.counts})
        entry = res.to_dict()
        _latent_store_test(alg, res, entry, keys_dir)
        return d, entry

    d, entry = run(_latent_noise(true, key, 0.465, rng))
    assert not (d.detected and d.payload == true)  # the blind decode alone does not get it
    assert entry["detected"] and entry["identified"]["payload"] == true.hex()
    assert entry["p_value"] == min(1.0, 2 * min(d.p_value, entry["p_value_tests"]["store_match"])) <= 1e-6
    assert "vote_ones" not in entry  # arrays stay out of the JSON
    d, entry = run(rng.standard_normal(10240).astype(np.float32))
    assert not entry["detected"] and entry["payload"] is None and "identified" not in entry
    assert entry["p_value"] == min(1.0, 2 * d.p_value)


def test_store_match_replaces_a_blind_latent_payload_with_bit_errors(keys_dir):
    """The latent payload has no CRC: a blind decode can be detected (p far below 1e-6)
    and still read a few bits wrong. The identifier the store matches is then the payload,
    in the JSON and on the card; the blind reading stays as ``blind_payload``."""
    from detect.card import render_card
    from detect.fuse import _latent_store_test
    from generate.latent_watermark import ALG_ID, LatentWatermark, decode_noise
    from provenance.store import ManifestStore

    rng = np.random.default_rng(11)
    key = rng.bytes(32)
    store = ManifestStore(keys_dir)
    for _ in range(200):  # a marked noise whose blind decode is detected but wrong
        true = rng.bytes(6)
        d = decode_noise(_latent_noise(true, key, 0.44, rng), key)
        if d.detected and d.payload != true:
            break
    else:
        raise AssertionError("no detected-but-wrong blind decode in 200 draws")
    for ident in [rng.bytes(6) for _ in range(50)] + [true]:
        store.add(alg=ALG_ID, value=base64.b64encode(ident).decode())
    res = ExtractResult(alg=ALG_ID, detected=True, p_value=d.p_value, payload=d.payload, bits=d.bits,
                        confidence=d.confidence, frames_used=17, per_frame=[],
                        extra={"vote_ones": d.ones, "vote_counts": d.counts})
    entry = res.to_dict()
    _latent_store_test(LatentWatermark(pipe=None, key=key), res, entry, keys_dir)
    assert entry["detected"] and entry["payload"] == true.hex()
    assert entry["blind_payload"] == d.payload.hex() != true.hex()
    card = render_card({"file": {"path": "x.mp4"}, "verdict": "ai-generated", "watermarks": [entry]})
    assert f"id {true.hex()} (matched in the manifest store)" in card
    assert d.payload.hex() not in card
