"""Identify a detected mark among known identifiers, when blind decoding fails.

Blind decoding must pick one of 2^48 identifiers and proves itself only by a CRC; on
small or heavily compressed clips the coded bits are too noisy for it even though the
mark is plainly *detected* (the exact test-chip p-value). A platform usually knows the
candidates: the identifiers in its manifest store. Comparing the noisy coded bits with
each candidate's codeword is a far easier question (N candidates instead of 2^48).

Acceptance (documented, conservative): the best candidate's agreement must be unlikely
for an unrelated codeword, ``N * P(Bin(n, 1/2) >= k) <= 1e-6`` (the codewords of
independent random identifiers behave like random bit strings; a union bound over the N
candidates), and it must beat the runner-up clearly. This only picks *which* known
identifier it is; whether a mark is present at all is still the detector's exact test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .ecc import encode_identifier
from .stats import log10_binomial_sf

__all__ = ["Match", "match_identifier", "match_votes", "MATCH_P_VALUE"]

MATCH_P_VALUE = 1e-6
#: the runner-up must be at least this much less likely (log10) than the best
MARGIN_LOG10 = 3.0


@dataclass(frozen=True)
class Match:
    identifier: bytes
    agreement: int      # coded bits equal to the candidate's codeword
    bits: int           # coded bits compared
    log10_p: float      # union-bounded over the candidates
    candidates: int


def match_identifier(bits: np.ndarray, candidates: list[bytes]) -> Match | None:
    """The candidate whose codeword the hard coded ``bits`` agree with, or None."""
    bits = np.asarray(bits, dtype=np.uint8).ravel()
    cands = _identifiers(candidates)
    if not cands:
        return None
    codewords = np.stack([encode_identifier(c) for c in cands])
    if codewords.shape[1] != bits.size:
        raise ValueError(f"{bits.size} coded bits, but codewords have {codewords.shape[1]}")
    return _best(cands, (codewords == bits[None, :]).sum(axis=1), int(bits.size))


def match_votes(ones: np.ndarray, counts: np.ndarray, candidates: list[bytes]) -> Match | None:
    """The same question for a mark that repeats each identifier bit over many elements
    without a code (the latent watermark): ``counts[b]`` elements carry bit ``b`` and
    ``ones[b]`` of them read 1. A candidate's agreement is the number of elements that
    read its own bit; under no mark every element is a fair coin, so the union-bounded
    binomial tail over the candidates is again exact."""
    ones = np.asarray(ones, dtype=np.int64).ravel()
    counts = np.asarray(counts, dtype=np.int64).ravel()
    if ones.shape != counts.shape or (ones > counts).any() or (ones < 0).any():
        raise ValueError("ones and counts must be per-bit tallies with 0 <= ones <= counts")
    cands = _identifiers(candidates)
    if not cands:
        return None
    bits = np.stack([np.unpackbits(np.frombuffer(c, dtype=np.uint8)) for c in cands]).astype(bool)
    if bits.shape[1] != ones.size:
        raise ValueError(f"{ones.size} tallies, but identifiers have {bits.shape[1]} bits")
    agree = np.where(bits, ones[None, :], (counts - ones)[None, :]).sum(axis=1)
    return _best(cands, agree, int(counts.sum()))


def _identifiers(candidates: list[bytes]) -> list[bytes]:
    return [c for c in dict.fromkeys(candidates) if len(c) == 6]


def _best(cands: list[bytes], agree: np.ndarray, n: int) -> Match | None:
    """Accept the best-agreeing candidate if it is unlikely by chance and clearly ahead."""
    order = np.argsort(agree)[::-1]
    best = int(order[0])
    lp_best = log10_binomial_sf(int(agree[best]), n) + math.log10(len(cands))
    if lp_best > math.log10(MATCH_P_VALUE):
        return None
    if len(cands) > 1:
        lp_second = log10_binomial_sf(int(agree[order[1]]), n) + math.log10(len(cands))
        if lp_second - lp_best < MARGIN_LOG10:
            return None  # two known identifiers fit about as well: refuse to choose
    return Match(identifier=cands[best], agreement=int(agree[best]), bits=n, log10_p=float(min(0.0, lp_best)),
                 candidates=len(cands))
