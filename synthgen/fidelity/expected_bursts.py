"""The median inter-arrival CV the spec's burst model implies for rooms like the dataset's.

No closed form gives it: the spec's `inter_arrival_cv` sets how often a message opens a burst,
but the CV measured in a room also depends on the diurnal x weekly intensity (a sharp evening
peak crowds bursts together and raises it), on the room's span (it opens during the window and
runs to the snapshot) and on its size (a CV from a few dozen gaps is biased low). So the gate
runs its own small Monte Carlo of the spec's model, written from the spec's definition
(ARCHITECTURE.md, "Time"), independently of the engine's code:

- a room's first message opens a burst; every later one opens a new burst with probability
  q = 2 / (cv^2 + 1) (a mix of short and long gaps then has a CV of about sqrt(2/q - 1) = cv);
- bursts start at times drawn from the window's intensity restricted to the room's span
  (inverse CDF of the cumulative hourly intensity);
- inside a burst the gaps are exponential with mean `in_burst_gap_seconds`, but at most
  `max_gap_share_of_mean` of the room's mean gap (span / messages);
- a time past the snapshot wraps round to the room's start (so rooms keep their size), and the
  room's times are sorted: the CV is that of the sorted times' gaps, as the check measures it.

An engine that opens no bursts, or ignores the profile, then measures far from this figure.
Randomness is one fixed stream (the figure is reproducible and smooth in the spec's cv).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from synthgen.fidelity.expected_time import US_PER_DAY, US_PER_HOUR, window_exposure
from synthgen.spec import TimeModel

SEED = 20_260_101
US_PER_SECOND = 1_000_000


def room_gap_cvs(
    time: TimeModel, counts: NDArray[np.int64], open_us: NDArray[np.int64]
) -> NDArray[np.float64]:
    """The CV of each simulated room's gaps (NaN where it has fewer than two gaps or no spread):
    rooms of `counts` messages opening at `open_us` and running to the snapshot."""
    end = time.snapshot_us
    start = end - time.window_days * US_PER_DAY
    exposure = window_exposure(time)
    edges = np.arange(start, end + 1, US_PER_HOUR, dtype=np.float64)
    mass = np.concatenate([[0.0], np.cumsum(exposure.intensity)])
    counts = np.asarray(counts, dtype=np.int64)
    lo = np.clip(np.asarray(open_us, dtype=np.int64), start, end - 1)
    span = (end - lo).astype(np.float64)
    rng = np.random.Generator(np.random.PCG64(SEED))

    rooms = len(counts)
    room = np.repeat(np.arange(rooms), counts)
    first = np.zeros(len(room), dtype=bool)
    first[np.cumsum(counts) - counts] = True
    q = min(1.0, 2.0 / (time.inter_arrival_cv**2 + 1.0))
    opens = first | (rng.random(len(room)) < q)
    burst = np.cumsum(opens) - 1
    burst_room = room[opens]
    # burst starts: uniform in the room's share of the cumulative intensity, mapped back to time
    m_lo = np.interp(lo.astype(np.float64), edges, mass)
    u = m_lo[burst_room] + rng.random(len(burst_room)) * (mass[-1] - m_lo[burst_room])
    burst_start = np.interp(u, mass, edges)
    gap_mean = np.minimum(
        time.in_burst_gap_seconds * US_PER_SECOND,
        span / np.maximum(counts, 1) * time.max_gap_share_of_mean,
    )
    step = rng.exponential(1.0, len(room)) * gap_mean[room]
    step[opens] = 0.0
    within = np.cumsum(step)
    within -= within[np.flatnonzero(opens)][burst]
    t = burst_start[burst] + within
    t = lo[room] + np.mod(t - lo[room], span[room])  # past the snapshot: wrap to the start
    # sort each room's times: rooms shifted into disjoint integer ranges, one sort (a room's
    # rows stay its own after it, so `room` still labels them)
    width = end - start + 1
    if rooms * float(width) < 2.0**62:
        shift = room.astype(np.int64) * np.int64(width) - start
        t = (np.sort(t.astype(np.int64) + shift) - shift).astype(np.float64)
    else:  # the shifted keys would overflow: sort by two keys
        t = t[np.lexsort((t, room))]
    same = room[1:] == room[:-1]
    gaps = np.diff(t)[same] / US_PER_SECOND
    owner = room[1:][same]
    k = np.bincount(owner, minlength=rooms).astype(np.float64)
    mean = np.bincount(owner, gaps, minlength=rooms) / np.maximum(k, 1.0)
    square = np.bincount(owner, gaps * gaps, minlength=rooms) / np.maximum(k, 1.0)
    sd = np.sqrt(np.maximum(square - mean * mean, 0.0))
    ok = (k > 1) & (mean > 0)
    return np.asarray(np.where(ok, sd / np.where(ok, mean, 1.0), math.nan), dtype=np.float64)


def expected_median_cv(
    time: TimeModel, counts: NDArray[np.int64], open_us: NDArray[np.int64]
) -> float:
    """The median over rooms of room_gap_cvs: what the spec's model predicts the check measures."""
    cvs = room_gap_cvs(time, counts, open_us)
    return float(np.nanmedian(cvs)) if np.isfinite(cvs).any() else math.nan
