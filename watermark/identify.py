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

__all__ = ["Match", "match_identifier", "MATCH_P_VALUE"]

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
    cands = [c for c in dict.fromkeys(candidates) if len(c) == 6]
    if not cands:
        return None
    codewords = np.stack([encode_identifier(c) for c in cands])
    if codewords.shape[1] != bits.size:
        raise ValueError(f"{bits.size} coded bits, but codewords have {codewords.shape[1]}")
    agree = (codewords == bits[None, :]).sum(axis=1)
    order = np.argsort(agree)[::-1]
    n = int(bits.size)
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
