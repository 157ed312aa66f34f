"""p-values whose null distribution is exact under the keyed-randomness model.

Under "no watermark with this key" the keyed signs a detector compares against are
independent fair coins, whatever the content: so the number of agreements between
``n`` keyed signs and the signs of ``n`` content-derived values is exactly
Binomial(n, 1/2). Everything here is a tail of that distribution, computed in log
space so that the tiny p-values of a marked clip (1e-80 and below) do not underflow.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["binomial_sf", "log10_binomial_sf", "agreement_p_value", "union_bound"]


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


def union_bound(log10_p: float, hypotheses: float) -> float:
    """Bonferroni: log10 of min(1, hypotheses * p)."""
    return min(0.0, log10_p + math.log10(max(hypotheses, 1.0)))
