"""Vectorized samplers for the spec's distributions. NumPy only; a Generator is always passed in."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def discrete_power_law(
    rng: np.random.Generator, size: int, alpha: float, low: int, high: int
) -> IntArray:
    """Draw integers in [low, high] with P(k) proportional to k**-alpha (exact, by inverse CDF).

    The pmf is tabulated when the support is small; otherwise the continuous approximation
    floor(x + 0.5) of a truncated Pareto on [low - 0.5, high + 0.5] is used, which keeps the
    discrete shape within a fraction of a percent for alpha > 1.
    """
    if high - low <= 1_000_000:
        support = np.arange(low, high + 1, dtype=np.float64)
        cdf = np.cumsum(support**-alpha)
        cdf /= cdf[-1]
        idx = np.searchsorted(cdf, rng.random(size), side="right")
        return (np.minimum(idx, len(support) - 1) + low).astype(np.int64)
    lo, hi = low - 0.5, high + 0.5
    a = 1.0 - alpha
    u = rng.random(size)
    x = (lo**a + u * (hi**a - lo**a)) ** (1.0 / a)
    return np.clip(np.floor(x + 0.5), low, high).astype(np.int64)


def truncated_geometric(
    rng: np.random.Generator, size: int, p: float, low: int, high: int
) -> IntArray:
    """Draw integers in [low, high] with P(k) proportional to (1-p)**(k-low) (exact inverse CDF)."""
    support = np.arange(low, high + 1)
    pmf = (1.0 - p) ** (support - low)
    cdf = np.cumsum(pmf)
    cdf /= cdf[-1]
    idx = np.searchsorted(cdf, rng.random(size), side="right")
    return (np.minimum(idx, len(support) - 1) + low).astype(np.int64)


def capped_lognormal_int(
    rng: np.random.Generator, size: int, mu: float, sigma: float, low: int, high: int
) -> IntArray:
    """Round a log-normal draw to an integer and clip it into [low, high] (a cap)."""
    values = np.rint(rng.lognormal(mu, sigma, size))
    return np.clip(values, low, high).astype(np.int64)


# up to this many categories, `categorical` counts the cdf steps at or below each draw with one
# comparison per step: for a handful that beats searchsorted's binary search per draw
# (benchmarks/README.md, "where a shard's CPU goes")
FEW_CATEGORIES = 16


def categorical(rng: np.random.Generator, size: int, shares: NDArray[np.float64]) -> IntArray:
    """Draw category indices with the given shares: the number of cdf steps at or below a uniform
    draw (searchsorted(side="right"), capped at the last category)."""
    cdf = np.cumsum(np.asarray(shares, dtype=np.float64))
    cdf /= cdf[-1]
    u = rng.random(size)
    if len(cdf) > FEW_CATEGORIES:
        return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1).astype(np.int64)
    idx = np.zeros(size, dtype=np.int64)
    for step in cdf[:-1]:  # the last step (1.0) is never at or below u < 1, and is capped anyway
        idx += u >= step
    return idx


def zipf_weights(n: int, exponent: float, rng: np.random.Generator) -> FloatArray:
    """Activity weights k**-exponent over n items, assigned to items in a random order."""
    ranks = rng.permutation(n).astype(np.float64) + 1.0
    weights = ranks**-exponent
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def split_exact(total: int, weights: FloatArray) -> IntArray:
    """Split an integer total in proportion to weights, summing exactly (largest remainder)."""
    share = weights / weights.sum() * total
    base = np.floor(share).astype(np.int64)
    missing = int(total - base.sum())
    if missing > 0:
        order = np.argsort(-(share - base), kind="stable")
        base[order[:missing]] += 1
    return base


def class_counts(total: int, shares: list[float]) -> list[int]:
    """Split `total` items into classes by share, exactly, by largest remainder."""
    return [int(v) for v in split_exact(total, np.asarray(shares, dtype=np.float64))]


def cap_to_budget(values: IntArray, budget: int, floor: int) -> IntArray:
    """Clip the largest values to one common cap so the sum fits the budget (shape kept below it).

    Used only when a rare draw of regular rooms would leave heavy rooms below their threshold.
    """
    if values.sum() <= budget:
        return values
    ordered = np.sort(values)
    n = len(ordered)
    # sum with cap c = sum(values < c) + c * count(values >= c); find the largest c that fits
    prefix = np.concatenate([[0], np.cumsum(ordered)])
    caps = ordered
    sums = prefix[np.arange(n)] + caps * (n - np.arange(n))
    ok = np.nonzero(sums <= budget)[0]
    if len(ok) == 0:
        cap = max(floor, budget // max(n, 1))
    else:
        i = ok[-1]
        cap = int((budget - prefix[i]) // (n - i))
    return np.minimum(values, max(cap, floor))
