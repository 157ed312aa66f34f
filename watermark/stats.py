"""p-values whose null distribution is exact under the keyed-randomness model.

Under "no watermark with this key" the keyed signs a detector compares against are
independent fair coins, whatever the content: so the number of agreements between
``n`` keyed signs and the signs of ``n`` content-derived values is exactly
Binomial(n, 1/2). Everything here is a tail of that distribution, computed in log
space so that the tiny p-values of a marked clip (1e-80 and below) do not underflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["binomial_sf", "log10_binomial_sf", "agreement_p_value", "WeightedSignTest", "weighted_sign_test",
           "randomized_p_value", "union_bound"]


def log10_binomial_sf(k: int, n: int) -> float:
    """log10 P(X >= k) for X ~ Binomial(n, 1/2); 0.0 when k <= 0, -inf when k > n."""
    if k <= 0 or n <= 0:
        return 0.0
    if k > n:
        return -math.inf
    # the sum of the log pmf over the tail is exact and stable for any n we meet (<= 10^5)
    # (no scipy.stats: importing it costs over a second, more than the whole detection)
    ks = np.arange(k, n + 1, dtype=np.float64)
    from scipy.special import gammaln

    logpmf = gammaln(n + 1.0) - gammaln(ks + 1.0) - gammaln(n - ks + 1.0) - n * math.log(2.0)
    top = logpmf.max()
    return float((top + math.log(np.exp(logpmf - top).sum())) / math.log(10))


def binomial_sf(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2), floored at the smallest positive float."""
    return max(10.0 ** log10_binomial_sf(k, n), 5e-324) if k <= n else 0.0


def agreement_p_value(values: np.ndarray, signs: np.ndarray) -> tuple[float, float, int, int]:
    """One-sided sign test: how unlikely are this many agreements between ``sign(values)``
    and the keyed ``signs`` if the signs were fair coins?

    Zero values carry no sign and are left out (the test is conditional on them).
    Returns ``(p_value, log10_p, agreements, n)``.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    s = np.asarray(signs, dtype=np.float64).ravel()
    keep = v != 0
    n = int(keep.sum())
    k = int((np.sign(v[keep]) == np.sign(s[keep])).sum())
    lp = log10_binomial_sf(k, n)
    return min(1.0, 10.0 ** lp), lp, k, n


@dataclass(frozen=True)
class WeightedSignTest:
    """The outcome of :func:`weighted_sign_test`."""

    p_value: float
    log10_p: float        # log10 P(S >= score)
    log10_p_above: float  # log10 P(S > score): with log10_p it gives the randomized p-value
    score: int            # S: the weights of the agreeing values
    total: int            # the sum of all weights
    agreeing: int         # values whose sign agrees (unweighted, for reports)
    n: int                # values with a sign


def weighted_sign_test(values: np.ndarray, signs: np.ndarray, levels: int = 64, clip: float = 3.0) -> WeightedSignTest:
    """One-sided test of agreement between ``sign(values)`` and keyed ``signs`` that
    weighs each value by its magnitude.

    The sign test throws the magnitudes away; a value far from zero is better evidence
    than one next to it (for near-Gaussian estimates the sign test has 2/pi of the
    correlation test's efficiency). Under "no mark with this key" the keyed signs are fair
    coins independent of the content, so *conditional on the magnitudes* the agreements
    are still independent fair coins: ``S = sum(w_i [agree_i])`` with weights fixed by
    ``|values|`` has an exactly known distribution, the subset-sum distribution of the
    weights, computed here by dynamic programming. The weights are the magnitudes clipped
    at ``clip`` x their median (one outlier cannot carry the test) and quantised to
    ``0..levels`` (integers keep the distribution exact and small). The p-value is
    ``P(S >= score)``, exact, never below ``2^-n``.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    s = np.asarray(signs, dtype=np.float64).ravel()
    if v.shape != s.shape:
        raise ValueError(f"{v.size} values but {s.size} signs")
    mag = np.abs(v)
    has_sign = mag > 0
    n = int(has_sign.sum())
    agree = (np.sign(v) == np.sign(s)) & has_sign
    if n == 0:
        return WeightedSignTest(1.0, 0.0, 0.0, 0, 0, 0, 0)
    ref = clip * float(np.median(mag[has_sign]))
    w = np.rint(levels * np.minimum(mag / ref, 1.0)).astype(np.int64)  # ref > 0: n > 0 magnitudes are positive
    score, total = int(w[agree].sum()), int(w.sum())
    pmf = np.zeros(total + 1)
    pmf[0] = 1.0
    top = 0
    for wi in w[w > 0]:  # multiply by (1 + x^wi) / 2, one weight at a time
        pmf[wi:top + wi + 1] += pmf[:top + 1].copy()
        pmf[:top + wi + 1] *= 0.5
        top += wi
    # every mass is a multiple of 2^-n >= 1e-77 for the 256 test chips: float64 holds it
    at_least, above = float(pmf[score:].sum()), float(pmf[score + 1:].sum())
    log10_p = math.log10(at_least) if at_least > 0 else -n * math.log10(2.0)
    log10_above = math.log10(above) if above > 0 else -math.inf
    return WeightedSignTest(p_value=min(1.0, at_least), log10_p=min(0.0, log10_p), log10_p_above=min(0.0, log10_above),
                            score=score, total=total, agreeing=int(agree.sum()), n=n)


def randomized_p_value(p: float, log10_p_above: float, u: float) -> float:
    """``P(S > s) + u P(S = s)`` from ``p = P(S >= s)`` and ``log10 P(S > s)``: exactly U(0, 1)
    under no mark for ``u ~ U(0, 1)``, so a KS test of a discrete statistic tests the null
    itself, not its discreteness."""
    above = 10.0 ** log10_p_above
    return above + u * (p - above)


def union_bound(log10_p: float, hypotheses: float) -> float:
    """Bonferroni: log10 of min(1, hypotheses * p)."""
    return min(0.0, log10_p + math.log10(max(hypotheses, 1.0)))
