"""The spec's time and receipt models, evaluated: the window's hourly intensity, burst noise,
and the read-receipt delay mixture with the snapshot's truncation. Pure NumPy.

Independence rule (see expected.py): the hourly profile is built here from the spec's definition
(an explicit 24-value `hourly_profile`, else 1 in the trough hours, `peak_to_trough` in the peak
hours and halfway between elsewhere), not taken from the engine, so an engine whose day is flat
or shifted is caught.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from synthgen.fidelity.expected import F64, normal_cdf
from synthgen.spec import Diurnal, ReadReceipts, Time
from synthgen.units import EPOCH_WEEKDAY_SHIFT, US_PER_DAY, US_PER_HOUR


def diurnal_profile(diurnal: Diurnal) -> F64:
    """24 relative hourly rates by the spec's definition: the explicit profile when given, else
    trough hours 1, peak hours `peak_to_trough`, every other hour the midpoint of the two."""
    if diurnal.hourly_profile is not None:
        return np.array(diurnal.hourly_profile, dtype=np.float64)
    peak, trough = hour_sets(diurnal)
    ratio = diurnal.peak_to_trough
    # a peak hour inside the trough range counts as a peak
    rates = [ratio if h in peak else 1.0 if h in trough else (1.0 + ratio) / 2.0 for h in range(24)]
    return np.array(rates, dtype=np.float64)


def hour_sets(diurnal: Diurnal) -> tuple[list[int], list[int]]:
    """Hours of day in the peak ranges and in the trough range."""
    peak = sorted({h for start, end in diurnal.peak_hours for h in range(start, end)})
    lo, hi = diurnal.trough_hours
    return peak, list(range(lo, hi))


@dataclass(frozen=True)
class WindowExposure:
    """Every hour of the window: its hour of day, whether it is a weekend, and its intensity."""

    hour_of_day: NDArray[np.int64]
    weekend: NDArray[np.bool_]
    profile: F64  # diurnal rate of that hour (no weekday factor)
    weekday_factor: F64  # weekday_to_weekend on weekdays, 1 on weekends

    @property
    def intensity(self) -> F64:
        """Relative message rate of each hour of the window."""
        return np.asarray(self.profile * self.weekday_factor, dtype=np.float64)


def window_exposure(time: Time) -> WindowExposure:
    """The window (window_days ending at the snapshot), hour by hour."""
    end = time.snapshot_us
    start = end - time.window_days * US_PER_DAY
    hours = np.arange(start, end, US_PER_HOUR, dtype=np.int64)
    hod = (hours // US_PER_HOUR) % 24
    weekend = ((hours // US_PER_DAY + EPOCH_WEEKDAY_SHIFT) % 7) >= 5
    profile = diurnal_profile(time.diurnal)[hod]
    factor = np.where(weekend, 1.0, time.weekday_to_weekend)
    return WindowExposure(hod, weekend, profile, factor)


def burst_inflation(inter_arrival_cv: float) -> float:
    """Variance inflation of message counts when messages come in bursts.

    A message opens a burst with probability q = 2 / (cv^2 + 1) (the time model's burst rule),
    so burst sizes are geometric with mean 1/q and a count of messages has variance
    (2 - q) / q times that of independent messages.
    """
    q = min(1.0, 2.0 / (inter_arrival_cv**2 + 1.0))
    return (2.0 - q) / q


# --- read receipts ----------------------------------------------------------------------------


def delay_component_cdfs(receipts: ReadReceipts, seconds: F64) -> F64:
    """CDF of each delay component at the given delays (shape: components x len(seconds)).

    immediate: uniform on [min, max); near-term: exponential from min with the spec's mean,
    truncated at max; delayed: log-normal truncated to [min, max); stale: log-uniform.
    """
    x = np.asarray(seconds, dtype=np.float64)
    m = receipts.delay_mixture
    immediate, near, delayed, stale = m.immediate, m.near_term, m.delayed, m.stale
    out = np.zeros((len(m.components), len(x)))
    low = immediate.min_seconds
    out[0] = np.clip((x - low) / (immediate.max_seconds - low), 0.0, 1.0)
    scale = max(near.mean_seconds - near.min_seconds, 1.0)
    top = 1.0 - math.exp(-(near.max_seconds - near.min_seconds) / scale)
    out[1] = np.clip((1.0 - np.exp(-np.maximum(x - near.min_seconds, 0.0) / scale)) / top, 0, 1)
    mu, sigma = delayed.lognormal.mu, delayed.lognormal.sigma
    a, b = normal_cdf((np.log([delayed.min_seconds, delayed.max_seconds]) - mu) / sigma)
    log_x = np.log(np.maximum(x, 1e-12))
    out[2] = np.clip((normal_cdf((log_x - mu) / sigma) - a) / (b - a), 0.0, 1.0)
    lo, hi = math.log(stale.min_seconds), math.log(stale.max_seconds)
    out[3] = np.clip((log_x - lo) / (hi - lo), 0.0, 1.0)
    return out


def delay_cdf(receipts: ReadReceipts, seconds: F64) -> F64:
    """P(delay <= x) under the whole mixture: each component's CDF weighted by its share."""
    x = np.asarray(seconds, dtype=np.float64)
    shares = np.array([b.share for b in receipts.delay_mixture.components])
    flat = shares @ delay_component_cdfs(receipts, x.reshape(-1))
    return np.asarray(flat.reshape(x.shape), dtype=np.float64)


def receipt_expectation(
    receipts: ReadReceipts, age_seconds: F64, age_counts: F64, old_messages: float
) -> tuple[float, F64]:
    """Expected receipts per delay component, given each message's age at the snapshot.

    A message gets a receipt with probability read_rate, in component b with its share, and it
    is written only if its delay fits before the snapshot: P = share_b * F_b(age). Messages
    older than every delay (`old_messages`) keep all their receipts.
    """
    shares = np.array([b.share for b in receipts.delay_mixture.components])
    fits = delay_component_cdfs(receipts, age_seconds) @ np.asarray(age_counts, dtype=np.float64)
    per_component = receipts.read_rate * shares * (fits + old_messages)
    return float(per_component.sum()), np.asarray(per_component, dtype=np.float64)


def receipt_delay_histogram(
    receipts: ReadReceipts, edges: F64, age_seconds: F64, age_counts: F64, old_messages: float
) -> F64:
    """Expected receipts with a delay in each [edges[i], edges[i+1]) bin (truncation included)."""
    shares = np.array([b.share for b in receipts.delay_mixture.components])

    def mass_below(limit: F64) -> F64:
        return np.asarray(shares @ delay_component_cdfs(receipts, limit), dtype=np.float64)

    counts = np.zeros(len(edges) - 1)
    for i in range(len(edges) - 1):  # bins, not rows: a few dozen iterations
        lo = mass_below(np.minimum(edges[i], age_seconds))
        hi = mass_below(np.minimum(edges[i + 1], age_seconds))
        full = float(mass_below(np.array([edges[i + 1]]))[0] - mass_below(np.array([edges[i]]))[0])
        counts[i] = (hi - lo) @ age_counts + full * old_messages
    return receipts.read_rate * counts
