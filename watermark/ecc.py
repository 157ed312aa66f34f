"""Error correction for the 48-bit identifier: CRC-16 + a rate-1/3 convolutional code.

The 64 information bits (48-bit identifier, CRC-16/CCITT over it) are encoded with the
K=7 rate-1/3 code of LTE/3GPP (generators 133, 171, 165 octal), terminated with six
zero tail bits: 70 steps x 3 = 210 coded bits. Decoding is soft-decision Viterbi on
per-bit log-likelihood ratios, so weak bits count for less than strong ones; the CRC
then rejects the rare wrong path (a random path passes with probability 2^-16).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ID_BITS", "INFO_BITS", "CODED_BITS", "crc16", "bytes_to_bits", "bits_to_bytes",
    "encode_identifier", "conv_encode", "viterbi_decode", "decode_identifier",
]

ID_BITS = 48
CRC_BITS = 16
INFO_BITS = ID_BITS + CRC_BITS
_K = 7
_GENERATORS = (0o133, 0o171, 0o165)
_TAIL = _K - 1
CODED_BITS = (INFO_BITS + _TAIL) * len(_GENERATORS)


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


def viterbi_decode(llr: np.ndarray, n_info: int = INFO_BITS) -> np.ndarray:
    """Soft Viterbi: ``llr[i] > 0`` favours coded bit i = 1. Returns the ``n_info`` bits."""
    llr = np.asarray(llr, dtype=np.float64).reshape(-1, len(_GENERATORS))
    steps = llr.shape[0]
    # branch metric: correlation of the LLRs with the +/-1 form of the branch's output bits
    signs = 2.0 * _OUT.astype(np.float64) - 1.0  # [state, bit, 3]
    metric = np.full(_STATES, -np.inf)
    metric[0] = 0.0
    back = np.zeros((steps, _STATES), dtype=np.int64)  # predecessor register (state<<1|bit packed)
    for t in range(steps):
        branch = metric[:, None] + signs @ llr[t]  # [state, bit]
        if t >= steps - _TAIL:
            branch[:, 1] = -np.inf  # termination: tail bits are zeros
        # each next state has exactly two incoming branches (_PRED); keep the better one
        cand = branch[_PRED_STATE, _PRED_BIT]  # [next state, 2]
        pick = np.argmax(cand, axis=1)
        new = cand[np.arange(_STATES), pick]
        arg = _PRED_STATE[np.arange(_STATES), pick] * 2 + _PRED_BIT[np.arange(_STATES), pick]
        metric = new
        back[t] = arg
    state, bits = 0, []
    for t in range(steps - 1, -1, -1):
        idx = back[t, state]
        prev, bit = divmod(int(idx), 2)
        bits.append(bit)
        state = prev
    return np.array(bits[::-1][:n_info], dtype=np.uint8)


def encode_identifier(identifier: bytes) -> np.ndarray:
    """48-bit identifier -> 210 coded bits (0/1)."""
    if len(identifier) != ID_BITS // 8:
        raise ValueError(f"the identifier must be {ID_BITS // 8} bytes")
    crc = crc16(identifier).to_bytes(2, "big")
    return conv_encode(bytes_to_bits(identifier + crc))


def decode_identifier(llr: np.ndarray) -> tuple[bytes, bool, np.ndarray]:
    """Coded-bit LLRs -> (identifier, crc_ok, info bits)."""
    info = viterbi_decode(llr)
    ident = bits_to_bytes(info[:ID_BITS])
    crc = int.from_bytes(bits_to_bytes(info[ID_BITS:]), "big")
    return ident, crc == crc16(ident), info
