"""Error correction for the 48-bit identifier: CRC-16 + a rate-1/3 convolutional code.

The 64 information bits (48-bit identifier, CRC-16/CCITT over it) are encoded with the
K=7 rate-1/3 code of LTE/3GPP (generators 133, 171, 165 octal), terminated with six
zero tail bits: 70 steps x 3 = 210 coded bits. Decoding is soft-decision list Viterbi
on per-bit log-likelihood ratios, so weak bits count for less than strong ones: of the
``LIST_SIZE`` most likely paths, the first whose CRC checks is the identifier (a wrong
path passes with probability 2^-16).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "ID_BITS", "INFO_BITS", "CODED_BITS", "LIST_SIZE", "crc16", "bytes_to_bits", "bits_to_bytes",
    "encode_identifier", "conv_encode", "list_viterbi_decode", "viterbi_decode", "Decoded", "decode_identifier",
]

ID_BITS = 48
CRC_BITS = 16
INFO_BITS = ID_BITS + CRC_BITS
_K = 7
_GENERATORS = (0o133, 0o171, 0o165)
_TAIL = _K - 1
CODED_BITS = (INFO_BITS + _TAIL) * len(_GENERATORS)
#: paths the decoder checks against the CRC, most likely first. Each wrong path passes with
#: probability 2^-16, so a mark whose true path is not among them reads a wrong identifier
#: with probability at most 16 x 2^-16 = 2.4e-4 (plain Viterbi: 1.5e-5); in exchange, small
#: clips whose best path is wrong are mostly read (docs/watermark.md, "List decoding")
LIST_SIZE = 16


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def bytes_to_bits(data: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes(data), dtype=np.uint8)).astype(np.uint8)


def bits_to_bytes(bits: np.ndarray) -> bytes:
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()


def _parity(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    out = np.zeros_like(x)
    while np.any(x):
        out ^= x & 1
        x >>= 1
    return out


# trellis tables: state = the last K-1 input bits, newest in the high bit
_STATES = 1 << (_K - 1)
_reg = np.array([[(b << (_K - 1)) | s for b in (0, 1)] for s in range(_STATES)])  # [state, bit] -> register
_OUT = np.stack([_parity(_reg & g) for g in _GENERATORS], axis=-1).astype(np.uint8)  # [state, bit, 3]
_NEXT = _reg >> 1  # [state, bit] -> next state
# [next state, 2] -> the (state, bit) pairs that lead there
_PRED_STATE = np.zeros((_STATES, 2), dtype=np.int64)
_PRED_BIT = np.zeros((_STATES, 2), dtype=np.int64)
_fill = np.zeros(_STATES, dtype=np.int64)
for _s in range(_STATES):
    for _b in (0, 1):
        _n = _NEXT[_s, _b]
        _PRED_STATE[_n, _fill[_n]], _PRED_BIT[_n, _fill[_n]] = _s, _b
        _fill[_n] += 1
del _s, _b, _n, _fill


def conv_encode(bits: np.ndarray) -> np.ndarray:
    """Terminated convolutional encoding: len(bits) + 6 steps, 3 coded bits each."""
    state, out = 0, []
    for b in list(np.asarray(bits, dtype=np.uint8)) + [0] * _TAIL:
        out.append(_OUT[state, int(b)])
        state = int(_NEXT[state, int(b)])
    return np.concatenate(out).astype(np.uint8)


def list_viterbi_decode(llr: np.ndarray, list_size: int, n_info: int = INFO_BITS) -> list[np.ndarray]:
    """Soft list Viterbi (the parallel list algorithm): the ``list_size`` most likely
    terminated paths, best first, each as its ``n_info`` information bits.
    ``llr[i] > 0`` favours coded bit i = 1; ``list_size=1`` is plain Viterbi."""
    llr = np.asarray(llr, dtype=np.float64).reshape(-1, len(_GENERATORS))
    steps, size = llr.shape[0], int(list_size)
    if size < 1:
        raise ValueError("list_size must be at least 1")
    # branch metric: correlation of the LLRs with the +/-1 form of the branch's output bits
    signs = 2.0 * _OUT.astype(np.float64) - 1.0  # [state, bit, 3]
    metric = np.full((_STATES, size), -np.inf)  # per state, its best paths' metrics, sorted
    metric[0, 0] = 0.0
    tail_bit = (_PRED_BIT == 1)[:, :, None]
    # per step, per state and rank: the predecessor (which of the two incoming branches, its rank)
    back = np.zeros((steps, _STATES, size), dtype=np.int64)
    for t in range(steps):
        branch = signs @ llr[t]  # [state, bit]
        # each next state has exactly two incoming branches (_PRED), each with its own ranked paths
        cand = metric[_PRED_STATE] + branch[_PRED_STATE, _PRED_BIT][:, :, None]  # [next, 2, rank]
        if t >= steps - _TAIL:
            cand = np.where(tail_bit, -np.inf, cand)  # termination: tail bits are zeros
        cand = cand.reshape(_STATES, 2 * size)
        keep = np.argsort(-cand, axis=1, kind="stable")[:, :size]
        metric = np.take_along_axis(cand, keep, axis=1)
        back[t] = keep
    paths = []
    for rank in range(size):
        if not np.isfinite(metric[0, rank]):
            break
        state, bits = 0, []
        for t in range(steps - 1, -1, -1):
            branch, rank_before = divmod(int(back[t, state, rank]), size)
            bits.append(int(_PRED_BIT[state, branch]))
            state, rank = int(_PRED_STATE[state, branch]), rank_before
        paths.append(np.array(bits[::-1][:n_info], dtype=np.uint8))
    return paths


def viterbi_decode(llr: np.ndarray, n_info: int = INFO_BITS) -> np.ndarray:
    """Soft Viterbi: ``llr[i] > 0`` favours coded bit i = 1. Returns the ``n_info`` bits."""
    return list_viterbi_decode(llr, 1, n_info)[0]


def encode_identifier(identifier: bytes) -> np.ndarray:
    """48-bit identifier -> 210 coded bits (0/1)."""
    if len(identifier) != ID_BITS // 8:
        raise ValueError(f"the identifier must be {ID_BITS // 8} bytes")
    crc = crc16(identifier).to_bytes(2, "big")
    return conv_encode(bytes_to_bits(identifier + crc))


class Decoded(NamedTuple):
    identifier: bytes   # the first listed path passing the CRC, else the most likely path's
    crc_ok: bool
    info: np.ndarray    # that path's information bits
    rank: int           # its place in the list (0: the most likely path)


def decode_identifier(llr: np.ndarray, list_size: int = LIST_SIZE) -> Decoded:
    """Coded-bit LLRs -> the identifier of the most likely path whose CRC checks, among
    the ``list_size`` most likely (or the best path's, with ``crc_ok`` False)."""
    paths = list_viterbi_decode(llr, list_size)
    for rank, info in enumerate(paths):
        ident = bits_to_bytes(info[:ID_BITS])
        if int.from_bytes(bits_to_bytes(info[ID_BITS:]), "big") == crc16(ident):
            return Decoded(ident, True, info, rank)
    return Decoded(bits_to_bytes(paths[0][:ID_BITS]), False, paths[0], 0)
