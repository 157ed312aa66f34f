"""Identifying a detected mark among the identifiers a manifest store knows."""

from __future__ import annotations

import base64
import os

import numpy as np

from watermark.base import ExtractResult
from watermark.ecc import encode_identifier
from watermark.identify import match_identifier


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
    found = _identify_in_store(res, PIXEL_ALG_ID, keys_dir)
    assert found is not None and found.identifier == true
