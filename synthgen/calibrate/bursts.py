"""The burst parameter, fitted through the engine itself.

The spec's `inter_arrival_cv` sets how often a message opens a burst; the coefficient of variation
the generator then realises also depends on the diurnal and weekly profile (a sharp evening peak
crowds bursts together and raises it). So the spec value that reproduces production's median CV
is found by simulation: the engine's own `bursty_times`, with the calibrated time model, over
conversations sized like production's busy ones, solved by bisection.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from synthgen.engine.skeleton import opening_fractions
from synthgen.engine.timemodel import median_gap_cv
from synthgen.sample.buckets import Bucket
from synthgen.spec import Spec, Time

MAX_ROOMS = 40
BISECTION_STEPS = 18


def busy_rooms(
    spec: Spec, buckets: list[Bucket], minimum: int, heavy_min: int, seed: int = 0
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Message counts and activity-start fractions of up to MAX_ROOMS simulated busy rooms.

    Counts are drawn log-uniformly inside production's buckets (in proportion to their counts);
    start fractions come from the engine's skeleton (`opening_fractions`, the spec's
    conversations.opening)."""
    rng = np.random.default_rng(seed)
    usable = [b for b in buckets if b.upper > minimum]
    total = sum(b.count for b in usable)
    if total <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    counts: list[NDArray[np.float64]] = []
    for b in usable:
        rooms = max(1, round(MAX_ROOMS * b.count / total))
        lo = max(b.lo, float(minimum))
        hi = b.hi if b.hi is not None else lo * 2.0
        counts.append(np.exp(rng.uniform(np.log(lo), np.log(max(hi - 1, lo)), rooms)))
    n = np.rint(np.concatenate(counts)).astype(np.int64)
    start = opening_fractions(spec, n >= heavy_min, rng)
    return n, start


def spec_cv_for(
    time: Time, target: float, counts: NDArray[np.int64], start: NDArray[np.float64]
) -> float:
    """The spec's inter_arrival_cv (>= 1) whose realised median CV is closest to `target`."""
    if len(counts) == 0:
        return max(1.0, target)
    lo, hi = 1.0, max(2.0, 2.0 * target)
    if median_gap_cv(time, lo, counts, start) >= target:
        return lo
    if median_gap_cv(time, hi, counts, start) <= target:
        return hi
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2.0
        if median_gap_cv(time, mid, counts, start) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0
