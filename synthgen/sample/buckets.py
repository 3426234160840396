"""Bucket edges shared by the sampler, the calibrator and the comparison against production.

Counts and lengths use log-spaced edges: every integer below 10, then the Renard R10 series of
preferred numbers (10 per decade: 1, 1.25, 1.6, 2, 2.5, 3.15, 4, 5, 6.3, 8) times powers of ten, so
decade boundaries (10, 100, 1000, 10000) are edges. Hours, weekdays, receipt delays and burst
coefficients use fixed edges. A bucket is [edge[i], edge[i+1]); the last one is open-ended.

`width_bucket(x, edges)` in PostgreSQL returns how many edges are <= x, which is exactly the index
used here: 0 means below the first edge, i means [edges[i-1], edges[i]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from synthgen.units import SECONDS_PER_DAY, SECONDS_PER_HOUR

R10_PERCENT = (100, 125, 160, 200, 250, 315, 400, 500, 630, 800)
HOUR = float(SECONDS_PER_HOUR)
DAY = float(SECONDS_PER_DAY)
# Receipt-delay edges (seconds): the four bands of the spec (30 s, 1 h, 72 h, 30 d) are edges.
DELAY_EDGES = (
    0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, HOUR,
    2 * HOUR, 4 * HOUR, 8 * HOUR, 12 * HOUR, DAY, 2 * DAY, 3 * DAY, 5 * DAY, 7 * DAY, 14 * DAY,
    30 * DAY,
)  # fmt: skip
CV_EDGES = tuple(round(0.25 * i, 2) for i in range(0, 41))  # 0, 0.25, ... 10; above 10 open
HOUR_EDGES = tuple(float(h) for h in range(24))
WEEKDAY_EDGES = tuple(float(d) for d in range(7))  # Monday = 0


def integer_edges(high: int) -> tuple[int, ...]:
    """0..9, then R10 numbers from 10 up to the first edge >= `high` (integer, increasing)."""
    edges = list(range(10))
    decade = 10
    while edges[-1] < high:
        edges += [p * decade // 100 for p in R10_PERCENT]
        decade *= 10
    return tuple(sorted(set(edges)))


def float_edges(low: float, high: float) -> tuple[float, ...]:
    """0, then R10 numbers from `low` (a power of ten) up to the first edge >= `high`."""
    edges = [0.0]
    decade = low
    while edges[-1] < high:
        edges += [round(p * decade / 100, 12) for p in R10_PERCENT]
        decade *= 10
    return tuple(edges)


def with_edges(edges: tuple[float, ...], extra: tuple[float, ...]) -> tuple[float, ...]:
    """The edges plus a few more (e.g. a threshold that must be a bucket boundary)."""
    return tuple(sorted(set(edges) | set(extra)))


MEMBER_EDGES = integer_edges(100_000)
MESSAGE_COUNT_EDGES = integer_edges(10**8)
LENGTH_EDGES = integer_edges(100_000)
SIZE_EDGES = integer_edges(10**12)
GAP_EDGES = float_edges(0.001, 10**8)


@dataclass(frozen=True)
class Bucket:
    """One published bucket: [lo, hi) with its count; hi None for the open-ended last one."""

    lo: float
    hi: float | None
    count: float

    @property
    def upper(self) -> float:
        """hi, or +infinity for the open-ended bucket."""
        return math.inf if self.hi is None else self.hi


def buckets_from_index(
    edges: tuple[float, ...], counts: NDArray[np.float64] | list[float]
) -> list[Bucket]:
    """Turn counts per width_bucket index (0..len(edges)) into buckets; index 0 is dropped when
    empty (values below the first edge), and empty buckets are left out."""
    full = np.asarray(counts, dtype=np.float64)
    out: list[Bucket] = []
    bounds = [-math.inf, *edges, math.inf]
    for index, count in enumerate(full):
        if count <= 0:
            continue
        lo, hi = bounds[index], bounds[index + 1]
        out.append(Bucket(float(lo), None if math.isinf(hi) else float(hi), float(count)))
    return out


def interval_edges(buckets: list[Bucket]) -> NDArray[np.float64]:
    """Sorted distinct boundaries of the buckets (an open end becomes +inf)."""
    points = {b.lo for b in buckets} | {b.upper for b in buckets}
    return np.asarray(sorted(points), dtype=np.float64)


def counts_on(edges: NDArray[np.float64], buckets: list[Bucket]) -> NDArray[np.float64]:
    """The buckets' counts on the intervals [edges[i], edges[i+1]) (a bucket covering several
    intervals has its count spread evenly over them; published buckets never do)."""
    out = np.zeros(len(edges) - 1, dtype=np.float64)
    for b in buckets:
        first = int(np.searchsorted(edges, b.lo, side="left"))
        last = int(np.searchsorted(edges, b.upper, side="left"))
        if last > first:
            out[first:last] += b.count / (last - first)
    return out
