"""The median inter-arrival CV the spec's burst model implies for rooms like the dataset's.

No closed form gives it (it depends on the intensity profile, each room's span and its size), so
the gate runs its own small Monte Carlo of the spec's burst model, written from the spec's
definition (docs/model.md, "Time") independently of the engine's code, and measures the CV as the
check does. The steps are in docs/design.md ("The fidelity gate"). Randomness is one fixed
stream, so the figure is reproducible and smooth in the spec's cv.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from synthgen.fidelity.expected_time import window_exposure
from synthgen.spec import Time
from synthgen.units import US_PER_DAY, US_PER_HOUR, US_PER_SECOND

SEED = 20_260_101
CHUNK_MESSAGES = 500_000  # rooms are simulated a chunk at a time: bounded memory, cache-sized


def room_gap_cvs(
    time: Time, counts: NDArray[np.int64], open_us: NDArray[np.int64]
) -> NDArray[np.float64]:
    """The CV of each simulated room's gaps (NaN where it has fewer than two gaps or no spread):
    rooms of `counts` messages opening at `open_us` and running to the snapshot."""
    end = time.snapshot_us
    start = end - time.window_days * US_PER_DAY
    edges = np.arange(start, end + 1, US_PER_HOUR, dtype=np.float64)
    mass = np.concatenate([[0.0], np.cumsum(window_exposure(time).intensity)])
    counts = np.asarray(counts, dtype=np.int64)
    lo = np.clip(np.asarray(open_us, dtype=np.int64), start, end - 1)
    rng = np.random.Generator(np.random.PCG64(SEED))
    q = min(1.0, 2.0 / (time.burst.inter_arrival_cv**2 + 1.0))
    out = np.full(len(counts), math.nan)
    chunk = (np.cumsum(counts) - counts) // CHUNK_MESSAGES
    bounds = np.flatnonzero(np.diff(chunk, prepend=-1))
    for a, b in zip(bounds, [*bounds[1:], len(counts)], strict=True):  # chunks, not rows
        out[a:b] = _chunk_cvs(time, counts[a:b], lo[a:b], edges, mass, q, rng)
    return out


def _chunk_cvs(
    time: Time,
    counts: NDArray[np.int64],
    lo: NDArray[np.int64],
    edges: NDArray[np.float64],
    mass: NDArray[np.float64],
    q: float,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    end = time.snapshot_us
    span = (end - lo).astype(np.float64)
    rooms, n = len(counts), int(counts.sum())
    if n == 0:
        return np.full(rooms, math.nan)
    room = np.repeat(np.arange(rooms), counts)
    first_row = np.cumsum(counts) - counts
    opens = rng.random(n) < q
    opens[first_row[counts > 0]] = True
    open_rows = np.flatnonzero(opens)
    burst = np.cumsum(opens) - 1
    burst_room = room[open_rows]
    # burst starts: uniform in the room's part of the cumulative intensity, mapped back to time
    m_lo = np.interp(lo.astype(np.float64), edges, mass)[burst_room]
    burst_start = np.interp(m_lo + rng.random(len(open_rows)) * (mass[-1] - m_lo), mass, edges)
    gap_mean = np.minimum(
        time.burst.in_burst_gap_seconds * US_PER_SECOND,
        span / np.maximum(counts, 1) * time.burst.max_gap_share_of_mean,
    )
    step = rng.standard_exponential(n) * gap_mean[room]
    step[open_rows] = 0.0
    within = np.cumsum(step)
    t = burst_start[burst] + (within - within[open_rows][burst])
    over = np.flatnonzero(t >= end)  # past the snapshot: wrap round to the room's start
    if len(over):
        r = room[over]
        t[over] = lo[r] + np.mod(t[over] - lo[r], span[r])
    # sort each room's times: rooms shifted into disjoint integer ranges, one sort (a room's
    # rows stay its own after it, so `room` still labels them)
    width = end - int(lo.min(initial=end)) + 1
    if rooms * float(width) < 2.0**62:
        shift = room * np.int64(width) - lo.min(initial=end)
        t = (np.sort(t.astype(np.int64) + shift) - shift).astype(np.float64)
    else:  # the shifted keys would overflow: sort by two keys
        t = t[np.lexsort((t, room))]
    gaps = np.diff(t) / US_PER_SECOND
    gaps = np.append(gaps, 0.0)
    gaps[first_row[1:] - 1] = 0.0  # the step from one room to the next is no gap
    starts = np.minimum(first_row, n - 1)
    k = np.maximum(counts - 1, 0).astype(np.float64)
    total = np.add.reduceat(gaps, starts)
    square = np.add.reduceat(gaps * gaps, starts)
    mean = total / np.maximum(k, 1.0)
    sd = np.sqrt(np.maximum(square / np.maximum(k, 1.0) - mean * mean, 0.0))
    ok = (k > 1) & (mean > 0)
    return np.asarray(np.where(ok, sd / np.where(ok, mean, 1.0), math.nan), dtype=np.float64)


def expected_median_cv(time: Time, counts: NDArray[np.int64], open_us: NDArray[np.int64]) -> float:
    """The median over rooms of room_gap_cvs: what the spec's model predicts the check measures."""
    cvs = room_gap_cvs(time, counts, open_us)
    return float(np.nanmedian(cvs)) if np.isfinite(cvs).any() else math.nan
