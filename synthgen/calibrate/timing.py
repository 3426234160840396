"""Fits of time and reading: the diurnal and weekly profile, bursts, receipts and sign-ups."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from synthgen.calibrate import bursts, fit
from synthgen.calibrate.section import Section, ordered, shares, sig
from synthgen.fidelity.expected_time import delay_component_cdfs
from synthgen.jsonmodel import from_json
from synthgen.sample.buckets import Bucket
from synthgen.spec import DelayMixture, ReadReceipts, ReceiptsPer, parse_spec
from synthgen.units import SECONDS_PER_DAY

MIN_SURVIVAL = 0.05  # a delay band the window keeps less of than this is not fitted
SURVIVAL_POINTS = 20_001  # per grid: the CDF averaged over the window (trapezoid rule)


def _spread(buckets: list[Bucket], size: int) -> np.ndarray:
    """Counts per unit slot 0..size-1 from buckets [lo, hi) (a merged bucket spreads evenly)."""
    out = np.zeros(size, dtype=np.float64)
    for b in buckets:
        lo, hi = int(b.lo), size if b.hi is None else int(b.hi)
        out[lo:hi] += b.count / max(hi - lo, 1)
    return out


def _runs(hours: np.ndarray) -> list[list[int]]:
    """Contiguous [start, end) ranges of the given sorted hours."""
    runs: list[list[int]] = []
    for h in hours.tolist():
        if runs and runs[-1][1] == h:
            runs[-1][1] = h + 1
        else:
            runs.append([h, h + 1])
    return runs


def diurnal(s: Section) -> None:
    """The explicit 24-hour profile as measured, with peak and trough hours derived from it."""
    hours = _spread(s.m.ordered("hour_of_day"), 24)
    n = float(hours.sum())
    profile = np.maximum(hours / hours.mean(), 0.01)  # the spec wants every rate > 0
    values = [round(float(v), 4) for v in profile]
    s.set("time.diurnal.hourly_profile", values, "TV", 0.0, n, "explicit, as measured")
    peak = np.flatnonzero(profile >= 0.75 * profile.max())
    trough_len = int(np.diff(s.spec["time"]["diurnal"]["trough_hours"])[0])
    windows = [profile[i : i + trough_len].mean() for i in range(0, 25 - trough_len)]
    t0 = int(np.argmin(windows))
    ratio = sig(max(1.0, float(profile[peak].mean()) / windows[t0]), 4)
    s.set("time.diurnal.peak_hours", _runs(peak), "-", None, n, "hours >= 75% of the top")
    s.set("time.diurnal.trough_hours", [t0, t0 + trough_len], "-", None, n, "quietest hours")
    s.set("time.diurnal.peak_to_trough", ratio, "exact", None, n)


def weekly(s: Section) -> None:
    """The window's length and the weekday / weekend ratio of per-day message rates."""
    days = _spread(s.m.ordered("day_of_week"), 7)
    window = s.m.thresholds.window_days
    end_day = int(s.m.window_end.timestamp() // SECONDS_PER_DAY)
    weekday = (np.arange(end_day - window, end_day) + 3) % 7  # Monday = 0
    rates = days / np.maximum(np.bincount(weekday, minlength=7).astype(np.float64), 1.0)
    if rates[5:].mean() > 0:
        ratio = sig(rates[:5].mean() / rates[5:].mean(), 4)
        s.set(
            "time.weekday_to_weekend",
            ratio,
            "exact",
            None,
            float(days.sum()),
            "per-day rates (the window's weekdays counted)",
        )
    s.given("time.window_days", window, "the sampled window")


def burstiness(s: Section) -> None:
    """In-burst gap (exponential fit) and the spec CV that makes the engine realise production's."""
    gaps = fit.fit_truncated_exponential(ordered(s, "inter_arrival_seconds"), 0.0, 300.0)
    s.fitted(
        "time.burst.in_burst_gap_seconds",
        gaps,
        1,
        sig(gaps.params[0], 4),
        "exponential fit to gaps under 5 minutes",
    )
    busy = s.m.ordered("burst_cv")
    measured = _median(busy)
    if measured is None:
        s.keep("time.burst.inter_arrival_cv", "no busy conversation survived K-suppression")
        return
    t = s.m.thresholds
    rooms = [
        *s.m.ordered("messages_per_regular_conversation"),
        *s.m.ordered("messages_per_heavy_conversation"),
    ]
    so_far = parse_spec(s.spec, source="calibrated spec (so far)")
    counts, start = bursts.busy_rooms(so_far, rooms, t.burst_min_messages, t.heavy_min_messages)
    cv = bursts.spec_cv_for(so_far.time, measured, counts, start)
    s.set(
        "time.burst.inter_arrival_cv",
        sig(cv, 4),
        "-",
        None,
        sum(b.count for b in busy),
        f"engine simulated to a median CV of {measured:.2f} (production's)",
    )


def _median(buckets: list[Bucket]) -> float | None:
    total = sum(b.count for b in buckets)
    if total <= 0:
        return None
    seen = 0.0
    for b in buckets:
        if seen + b.count >= total / 2:
            hi = b.hi if b.hi is not None else b.lo + 0.25
            return b.lo + (hi - b.lo) * (total / 2 - seen) / b.count
        seen += b.count
    return None


def receipts(s: Section) -> None:
    """Read rate and the four-band delay mixture (shares, near-term mean, delayed log-normal),
    as one receipt per message (`read_receipts.per = "message"`): the sampler publishes whether
    each message was read and its first read's delay, not every reader's.

    A receipt cannot land after the window's end, in production as in the engine (which drops
    receipts after its snapshot); long delays are lost more often. Shares and the read rate are
    corrected for that loss (messages assumed spread evenly over the window) so that the engine,
    losing the same receipts, reproduces what was measured.
    """
    state = s.m.categorical("read_state")
    data = ordered(s, "receipt_delay_seconds")
    if not data.total or sum(state.values()) <= 0:
        s.keep("read_receipts", "no receipts published")
        return
    d = s.spec["read_receipts"]["delay_mixture"]
    edges = [0.0, d["near_term"]["min_seconds"], d["delayed"]["min_seconds"]]
    edges += [d["stale"]["min_seconds"], d["stale"]["max_seconds"]]
    _delay_shapes(s, data, edges)
    names = ("immediate", "near_term", "delayed", "stale")
    bounds = [*edges[:4], math.inf]
    measured = {
        n: _count_between(data, lo, hi)
        for n, lo, hi in zip(names, bounds, bounds[1:], strict=False)
    }
    survival = _survival(d, s.m.thresholds.window_days * float(SECONDS_PER_DAY))
    # a band whose delays the window is too short to see keeps the base's share: dividing the
    # few receipts it caught by a survival near 0 would make it up
    seen = tuple(n for n in names if survival[n] >= MIN_SURVIVAL)
    unseen = sum(float(d[n]["share"]) for n in names if n not in seen)
    corrected = {n: measured[n] / survival[n] for n in seen}
    if not seen or sum(corrected.values()) <= 0:
        s.keep("read_receipts", "no receipt delay the window can show was published")
        return
    mixture = {n: float(d[n]["share"]) for n in names}
    mixture.update({n: round(v * (1.0 - unseen), 6) for n, v in shares(corrected, seen).items()})
    top = max(seen, key=lambda n: mixture[n])
    mixture[top] = round(1.0 - sum(v for n, v in mixture.items() if n != top), 6)
    for name in names:
        if name not in seen:
            s.keep(
                f"read_receipts.delay_mixture.{name}.share",
                f"the {s.m.thresholds.window_days}-day window is too short to see its delays",
            )
            continue
        s.set(
            f"read_receipts.delay_mixture.{name}.share",
            mixture[name],
            "TV",
            0.0,
            data.total,
            "corrected for receipts lost at the window's end",
        )
    kept = sum(mixture[n] * survival[n] for n in names)
    rate = min(1.0, state.get("read", 0.0) / sum(state.values()) / kept)
    # what was measured is each message's first read by someone else, so the fit is the model
    # with one receipt per message (read_rate per message, the first read's delay)
    s.given(
        "read_receipts.per",
        ReceiptsPer.MESSAGE.value,
        "the sampler measures each message's first receipt, not every reader's",
    )
    s.spec["read_receipts"].pop("per_member_max_members", None)
    s.set(
        "read_receipts.read_rate",
        sig(rate, 4),
        "exact",
        None,
        sum(state.values()),
        f"measured / {kept:.3f} (receipts that land inside the window)",
    )


def _delay_shapes(s: Section, data: fit.Binned, edges: list[float]) -> None:
    """Near-term: a truncated exponential's mean; delayed: a truncated log-normal's mu, sigma."""
    near = fit.fit_truncated_exponential(data, float(edges[1]), float(edges[2]))
    s.fitted(
        "read_receipts.delay_mixture.near_term.mean_seconds",
        near,
        1,
        sig(edges[1] + near.params[0], 4),
        "truncated exponential",
    )
    delayed = fit.fit_truncated_lognormal(data, float(edges[2]), float(edges[3]))
    s.fitted(
        "read_receipts.delay_mixture.delayed.lognormal",
        delayed,
        2,
        {"mu": sig(delayed.params[0], 4), "sigma": sig(delayed.params[1], 4)},
        "truncated log-normal",
    )


def _survival(d: dict[str, Any], window_s: float) -> dict[str, float]:
    """Per delay band, the share of receipts landing before the window's end, for messages
    spread evenly over the window: the mean of max(0, 1 - delay / window) over the band, which
    is the band's CDF (the gate's, fidelity.expected_time) averaged over [0, window]."""
    mixture = from_json(DelayMixture, d, ("read_receipts", "delay_mixture"))
    # even steps for the long bands, log steps for the short ones (seconds in a window of days)
    x = np.union1d(
        np.linspace(0.0, window_s, SURVIVAL_POINTS),
        np.geomspace(1e-3, window_s, SURVIVAL_POINTS),
    )
    cdfs = delay_component_cdfs(ReadReceipts(1.0, mixture), x)
    kept = np.asarray(np.trapezoid(cdfs, x, axis=1), dtype=np.float64) / window_s
    return {name: float(kept[i]) for i, name in enumerate(mixture.names)}


def _count_between(data: fit.Binned, lo: float, hi: float) -> float:
    """Observations in [lo, hi): whole buckets inside, a straddling bucket pro rata to width."""
    total = 0.0
    for b_lo, b_hi, n in zip(data.lo, data.hi, data.n, strict=True):
        if math.isinf(b_hi):
            total += n if lo <= b_lo < hi else 0.0
        else:
            overlap = max(0.0, min(b_hi, hi) - max(b_lo, lo))
            total += n * overlap / (b_hi - b_lo)
    return total


def users(s: Section) -> None:
    """Share of users who signed up inside the window."""
    signup = s.m.categorical("user_signup")
    if sum(signup.values()) > 0:
        s.set(
            "time.new_user_share",
            sig(signup.get("in_window", 0.0) / sum(signup.values()), 4),
            "exact",
            None,
            sum(signup.values()),
        )
