"""The time model: a diurnal x weekly intensity over the window, and bursty message streams.

Intensity is piecewise constant per hour. Its cumulative mass is piecewise linear, so drawing a
time from the intensity is an inverse-CDF lookup (np.interp) and needs no per-row Python.

Bursts: a message starts a new burst with probability q; inside a burst gaps are short. A mix of
short in-burst gaps and long between-burst gaps has a coefficient of variation of about
sqrt(2/q - 1), so q = 2 / (cv**2 + 1) gives the spec's inter-arrival CV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from synthgen.spec import Diurnal, Time
from synthgen.units import EPOCH_WEEKDAY_SHIFT, US_PER_DAY, US_PER_HOUR, US_PER_SECOND


def hourly_profile(diurnal: Diurnal) -> NDArray[np.float64]:
    """24 relative rates: the spec's explicit profile, else trough 1, peaks r, others between."""
    if diurnal.hourly_profile is not None:
        return np.asarray(diurnal.hourly_profile, dtype=np.float64)
    ratio = diurnal.peak_to_trough
    profile = np.full(24, (1.0 + ratio) / 2.0)
    lo, hi = diurnal.trough_hours
    profile[lo:hi] = 1.0
    for start, end in diurnal.peak_hours:
        profile[start:end] = ratio
    return profile


def weekday_of(t_us: NDArray[np.int64]) -> NDArray[np.int64]:
    """Monday = 0 ... Sunday = 6 for UTC microsecond timestamps."""
    return np.asarray((t_us // US_PER_DAY + EPOCH_WEEKDAY_SHIFT) % 7, dtype=np.int64)


@dataclass(frozen=True)
class IntensityGrid:
    """Cumulative intensity at every hour edge of the window [start_us, end_us]."""

    start_us: int
    end_us: int
    edges_us: NDArray[np.float64]
    cumulative: NDArray[np.float64]

    @classmethod
    def build(cls, time: Time) -> IntensityGrid:
        end = time.snapshot_us
        start = end - time.window_days * US_PER_DAY
        edges = np.arange(start, end + 1, US_PER_HOUR, dtype=np.int64)
        hours = edges[:-1]
        rate = hourly_profile(time.diurnal)[(hours // US_PER_HOUR) % 24]
        weekend = weekday_of(hours) >= 5
        rate = rate * np.where(weekend, 1.0, time.weekday_to_weekend)
        cumulative = np.concatenate([[0.0], np.cumsum(rate)])
        return cls(start, end, edges.astype(np.float64), cumulative)

    def mass(self, t_us: NDArray[np.int64]) -> NDArray[np.float64]:
        return np.interp(t_us.astype(np.float64), self.edges_us, self.cumulative)

    def time_at(self, mass: NDArray[np.float64]) -> NDArray[np.int64]:
        return np.interp(mass, self.cumulative, self.edges_us).astype(np.int64)

    def sample(
        self, rng: np.random.Generator, lo_us: NDArray[np.int64], hi_us: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """One time per (lo, hi) pair, drawn from the intensity restricted to [lo, hi)."""
        m_lo, m_hi = self.mass(lo_us), self.mass(hi_us)
        t = self.time_at(m_lo + rng.random(len(lo_us)) * (m_hi - m_lo))
        return np.clip(t, lo_us, np.maximum(hi_us - 1, lo_us))


def burst_start_probability(inter_arrival_cv: float) -> float:
    """Probability that a message opens a new burst, for the target inter-arrival CV."""
    return min(1.0, 2.0 / (inter_arrival_cv**2 + 1.0))


def bursty_times(
    rng: np.random.Generator,
    grid: IntensityGrid,
    piece_lo_us: NDArray[np.int64],
    piece_hi_us: NDArray[np.int64],
    piece_counts: NDArray[np.int64],
    inter_arrival_cv: float,
    in_burst_gap_s: float,
    max_gap_share: float,
) -> NDArray[np.int64]:
    """Strictly increasing timestamps for every piece, concatenated piece after piece.

    Each piece gets piece_counts[i] times inside [lo_i, hi_i). Bursts open at times drawn from the
    intensity; inside a burst, gaps are exponential with a mean of in_burst_gap_s, but at most
    max_gap_share of the piece's mean gap (dense pieces).
    """
    n = int(piece_counts.sum())
    piece_of = np.repeat(np.arange(len(piece_counts)), piece_counts)
    first = np.zeros(n, dtype=bool)
    starts = np.concatenate([[0], np.cumsum(piece_counts)[:-1]])
    first[starts[piece_counts > 0]] = True
    opens = first | (rng.random(n) < burst_start_probability(inter_arrival_cv))
    burst_id = np.cumsum(opens) - 1
    # room at the top keeps tie-breaking (+1 us) from reaching the next piece's lower bound
    hi_room = np.maximum(piece_hi_us - 1000, piece_lo_us + 1)
    burst_piece = piece_of[opens]
    burst_start = grid.sample(rng, piece_lo_us[burst_piece], hi_room[burst_piece])
    span = (hi_room - piece_lo_us).astype(np.float64)
    gap_mean_us = np.minimum(
        in_burst_gap_s * US_PER_SECOND, span / np.maximum(piece_counts, 1) * max_gap_share
    )
    gaps = rng.exponential(1.0, n) * gap_mean_us[piece_of]
    gaps[opens] = 0.0
    cum = np.cumsum(gaps)
    offset_in_burst = cum - cum[np.flatnonzero(opens)][burst_id]
    t = burst_start[burst_id] + offset_in_burst.astype(np.int64)
    lo, hi = piece_lo_us[piece_of], hi_room[piece_of]
    t = np.where(t >= hi, lo + (t - lo) % np.maximum(hi - lo, 1), t)
    return _strictly_increasing(_sort_within_pieces(t, piece_of, piece_lo_us, hi_room), piece_of)


def _sort_within_pieces(
    t: NDArray[np.int64],
    piece_of: NDArray[np.int64],
    lo_us: NDArray[np.int64],
    hi_us: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Sort the times of each piece (rows come grouped by piece, t in [lo, hi) of its piece).

    Only the sorted values are needed, so one np.sort of the times shifted into disjoint ranges,
    one per piece, replaces a two-key lexsort (about twice as fast).
    """
    span = np.maximum(hi_us - lo_us, 1)
    # summed as floats: an int64 sum would itself wrap around
    if float(span.sum(dtype=np.float64)) >= 2.0**62:  # keys would overflow: sort by two keys
        return np.asarray(t[np.lexsort((t, piece_of))], dtype=np.int64)
    shift = np.concatenate([[0], np.cumsum(span)[:-1]]) - lo_us
    return np.asarray(np.sort(t + shift[piece_of]) - shift[piece_of], dtype=np.int64)


def _strictly_increasing(t: NDArray[np.int64], piece_of: NDArray[np.int64]) -> NDArray[np.int64]:
    """Break ties inside each piece by nudging later equal times forward by 1 us (rarely needed)."""
    same_piece = piece_of[1:] == piece_of[:-1]
    for _ in range(64):
        clash = np.flatnonzero(same_piece & (t[1:] <= t[:-1])) + 1
        if len(clash) == 0:
            return t
        t[clash] = t[clash - 1] + 1
    # pathological density: fall back to a running maximum per piece (still vectorized)
    idx = np.arange(len(t), dtype=np.int64)
    base = t - idx
    starts = np.flatnonzero(np.concatenate([[True], ~same_piece]))
    for s, e in zip(starts, [*starts[1:], len(t)], strict=True):
        base[s:e] = np.maximum.accumulate(base[s:e])
    return base + idx


SIMULATION_CHUNK_MESSAGES = 500_000  # bounds the memory of a simulation over many rooms


def gap_cvs(
    time: Time, cv: float, counts: NDArray[np.int64], start: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The CV of inter-arrival gaps this engine realises in each room at spec `cv` (NaN where a
    room has fewer than two gaps or no spread to measure).

    Rooms have `counts` messages and open at fraction `start` of the window; they are simulated
    a chunk of about SIMULATION_CHUNK_MESSAGES messages at a time, from one fixed random stream
    (common random numbers keep the result smooth in `cv`).
    """
    grid = IntensityGrid.build(time)
    window = grid.end_us - grid.start_us
    rng = np.random.Generator(np.random.PCG64(7))
    out = np.full(len(counts), np.nan)
    chunk_of = (np.cumsum(counts) - counts) // SIMULATION_CHUNK_MESSAGES
    edges = np.flatnonzero(np.diff(chunk_of, prepend=-1))
    for a, b in zip(edges, [*edges[1:], len(counts)], strict=True):  # per chunk, not per row
        n = counts[a:b]
        lo = grid.start_us + (start[a:b] * window).astype(np.int64)
        hi = np.full(len(n), grid.end_us, dtype=np.int64)
        times = bursty_times(
            rng,
            grid,
            lo,
            hi,
            n,
            cv,
            time.burst.in_burst_gap_seconds,
            time.burst.max_gap_share_of_mean,
        )
        room = np.repeat(np.arange(len(n)), n)
        same = room[1:] == room[:-1]
        gaps = (np.diff(times)[same] / 1e6).astype(np.float64)
        owner = room[1:][same]
        k = np.bincount(owner, minlength=len(n)).astype(np.float64)
        mean = np.bincount(owner, gaps, minlength=len(n)) / np.maximum(k, 1)
        square = np.bincount(owner, gaps * gaps, minlength=len(n)) / np.maximum(k, 1)
        std = np.sqrt(np.maximum(square - mean * mean, 0.0))
        ok = (k > 1) & (mean > 0)
        out[a:b] = np.where(ok, std / np.where(ok, mean, 1.0), np.nan)
    return out


def median_gap_cv(
    time: Time, cv: float, counts: NDArray[np.int64], start: NDArray[np.float64]
) -> float:
    """The median over rooms of gap_cvs: what the spec's `inter_arrival_cv` turns into.

    It is not the spec's figure itself: a sharp diurnal peak crowds bursts together and raises
    it, so calibration (which solves for the spec cv) and the fidelity gate (which predicts the
    measured figure) both simulate it.
    """
    cvs = gap_cvs(time, cv, counts, start)
    return float(np.nanmedian(cvs)) if np.isfinite(cvs).any() else float("nan")
