"""Run-to-run noise, in NumPy: bootstrap confidence intervals of a median and a one-sided
Mann-Whitney U test, so that "slower" means slower beyond what repeated runs of the same query
already scatter, not one cold run against one warm one."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
# A fixed generator seed: the same samples give the same interval in every report.
_BOOTSTRAP_SEED = 20261130


def median_ci(samples: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the median of `samples`."""
    data = np.asarray(samples, dtype=np.float64)
    if data.size == 0:
        raise ValueError("no samples")
    if data.size == 1:
        return float(data[0]), float(data[0])
    rng = np.random.default_rng(_BOOTSTRAP_SEED)
    picks = rng.integers(0, data.size, size=(BOOTSTRAP_RESAMPLES, data.size))
    medians = np.median(data[picks], axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(medians, [tail, 1.0 - tail])
    return float(low), float(high)


def mann_whitney_greater(after: Sequence[float], before: Sequence[float]) -> float:
    """One-sided p-value that `after` tends to be larger than `before` (Mann-Whitney U, normal
    approximation with tie correction and continuity correction; fine from ~8 samples a side).
    """
    a = np.asarray(after, dtype=np.float64)
    b = np.asarray(before, dtype=np.float64)
    n1, n2 = a.size, b.size
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = np.concatenate([a, b])
    ranks = _average_ranks(pooled)
    u = float(ranks[:n1].sum()) - n1 * (n1 + 1) / 2.0
    mean = n1 * n2 / 2.0
    _, counts = np.unique(pooled, return_counts=True)
    n = n1 + n2
    tie_term = float((counts**3 - counts).sum()) / (n * (n - 1)) if n > 1 else 0.0
    variance = n1 * n2 / 12.0 * ((n + 1) - tie_term)
    if variance <= 0:
        return 1.0
    z = (u - mean - 0.5) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    # the first index of each run of equal values, and its length
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    lengths = np.diff(np.r_[starts, values.size])
    average = starts + (lengths + 1) / 2.0
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.repeat(average, lengths)
    return ranks
