"""Check 5: diurnal peak / trough ratio, weekday / weekend ratio, burstiness.

Rates are counts divided by exposure. A conversation's messages spread over its active span (its
first message to the snapshot) in proportion to the spec's intensity, so the expected rate of an
hour is intensity x activity, where activity sums messages / intensity mass over the
conversations active then (few are active early in the window). A ratio's exposure is the
window's hours in each set, weighted by activity and by the part of the intensity the ratio does
not measure (the weekday factor for the diurnal ratio, the diurnal profile for the weekly one).
Sampling noise counts bursts, not messages: a burst's messages fall in the same hour, so counts
vary (2 - q) / q times more than independent messages would.
"""

from __future__ import annotations

import math

import numpy as np

from synthgen.fidelity import expected_time as ext
from synthgen.fidelity.checks.base import DISTRIBUTION, Check
from synthgen.fidelity.context import CheckContext
from synthgen.fidelity.expected_bursts import expected_median_cv
from synthgen.fidelity.facts import conversation_table, message_times
from synthgen.fidelity.results import Chart, Metric, Outcome, relative, skipped
from synthgen.gate import NOISE_Z
from synthgen.units import EPOCH_WEEKDAY_SHIFT, US_PER_DAY, US_PER_HOUR

BURST_MIN_MESSAGES = 100
BURST_MIN_ROOMS = 5
BURST_SIMULATED_MESSAGES = 5_000_000  # bounds the simulation's time; memory is bounded
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def run(ctx: CheckContext) -> Outcome:
    """Compare time-of-day, day-of-week and burst figures with the spec's time model."""
    t, tol = ctx.spec.time, ctx.tolerance
    times = message_times(ctx)
    window = ext.window_exposure(t)
    start_hour = (t.snapshot_us - t.window_days * US_PER_DAY) // US_PER_HOUR
    index = times.hour - start_hour
    inside = (index >= 0) & (index < len(window.hour_of_day))
    per_hour = np.bincount(
        index[inside], weights=times.hour_count[inside], minlength=len(window.hour_of_day)
    )
    n = float(per_hour.sum())
    inflation = ext.burst_inflation(t.burst.inter_arrival_cv)
    activity = _activity(ctx, window, start_hour)
    intensity = window.intensity * activity
    expected_count = n * intensity / max(intensity.sum(), 1e-300)
    peak_hours, trough_hours = ext.hour_sets(t.diurnal)
    peak = np.isin(window.hour_of_day, peak_hours)
    trough = np.isin(window.hour_of_day, trough_hours)
    metrics: list[Metric] = []

    def ratio_metric(
        name: str, sets: tuple[str, str], a: np.ndarray, b: np.ndarray, weight: np.ndarray
    ) -> Metric:
        # a window shorter than a week may hold no weekend (or no weekday) hour, and hours before
        # the first conversation opens have no activity: no ratio is defined then
        for label, hours in zip(sets, (a, b), strict=True):
            if not hours.any():
                reason = f"not measurable: the {t.window_days}-day window has no {label} hours"
                return skipped(name, None, reason)
            if weight[hours].sum() <= 0:
                reason = f"insufficient data: no conversation is active in the {label} hours"
                return skipped(name, None, reason)
        want = (intensity[a].sum() / weight[a].sum()) / (intensity[b].sum() / weight[b].sum())
        got_a, got_b = per_hour[a].sum() / weight[a].sum(), per_hour[b].sum() / weight[b].sum()
        if got_b == 0 or expected_count[a].sum() < 1 or expected_count[b].sum() < 1:
            return skipped(name, want, "insufficient data: no messages in one of the hour sets")
        noise = NOISE_Z * math.sqrt(
            inflation * (1 / expected_count[a].sum() + 1 / expected_count[b].sum())
        )
        return relative(name, want, got_a / got_b, tol, noise)

    metrics.append(
        ratio_metric(
            "peak / trough hourly rate",
            ("peak", "trough"),
            peak,
            trough,
            window.weekday_factor * activity,
        )
    )
    metrics.append(
        ratio_metric(
            "weekday / weekend daily rate",
            ("weekday", "weekend"),
            ~window.weekend,
            window.weekend,
            window.profile * activity,
        )
    )
    metrics.append(_burst_metric(ctx))
    return Outcome(metrics=metrics, charts=_charts(window, per_hour, intensity, start_hour))


def _activity(ctx: CheckContext, window: ext.WindowExposure, start_hour: int) -> np.ndarray:
    """Per window hour: the sum over conversations active then of messages / intensity mass of
    their span (first message to the snapshot)."""
    conversation_table(ctx)
    rows = ctx.query(
        f"""
        SELECT first_t // {US_PER_HOUR} AS hour, sum(messages) AS n
        FROM fid_message_stats GROUP BY 1
        """
    )
    hours = len(window.hour_of_day)
    first = np.clip(np.array([r[0] for r in rows], dtype=np.int64) - start_hour, 0, hours - 1)
    count = np.array([r[1] for r in rows], dtype=np.float64)
    mass_after = np.cumsum(window.intensity[::-1])[::-1]  # intensity from each hour to the end
    per_start = np.bincount(first, weights=count / mass_after[first], minlength=hours)
    return np.asarray(np.cumsum(per_start), dtype=np.float64)


def _burst_metric(ctx: CheckContext) -> Metric:
    """Median CV of the busy rooms' gaps against the CV the spec's burst model predicts for them.

    The expected figure is not the spec's `inter_arrival_cv` itself: the realised CV also
    depends on the diurnal profile, the rooms' spans and sizes, so the gate's own simulation of
    the spec's model (expected_bursts) runs over rooms sized and opened like the dataset's.
    """
    table = conversation_table(ctx)
    rooms = ctx.columns(
        f"""
        SELECT messages, first_t, gap_sd / gap_mean AS cv FROM {table}
        WHERE messages >= {BURST_MIN_MESSAGES} AND gap_mean > 0 ORDER BY id
        """
    )
    name = f"burst: median CV of inter-arrival gaps (rooms with >= {BURST_MIN_MESSAGES} messages)"
    if len(rooms["cv"]) < BURST_MIN_ROOMS:
        return skipped(
            name,
            ctx.spec.time.burst.inter_arrival_cv,
            f"insufficient data: {len(rooms['cv'])} rooms with >= "
            f"{BURST_MIN_MESSAGES} messages (need {BURST_MIN_ROOMS})",
        )
    counts = rooms["messages"].astype(np.int64)
    first = rooms["first_t"].astype(np.int64)
    cv = rooms["cv"].astype(np.float64)
    # every k-th busy room: k keeps the simulation under BURST_SIMULATED_MESSAGES (plus a room)
    stride = max(1, math.ceil(int(counts.sum()) / BURST_SIMULATED_MESSAGES))
    picked = slice(None, None, stride)
    want = expected_median_cv(ctx.spec.time, counts[picked], first[picked])
    simulated = len(counts[picked])
    q25, median, q75 = np.quantile(cv, [0.25, 0.5, 0.75])
    # standard error of a median: 1.2533 * sd / sqrt(m), sd from the rooms' own spread (IQR);
    # the simulated figure carries the same kind of error over its own rooms
    spread = 1.2533 * ((q75 - q25) / 1.349)
    noise = NOISE_Z * spread * math.sqrt(1 / len(cv) + 1 / simulated) / want
    note = (
        f"{len(cv)} rooms; expected = the spec model's median CV at cv "
        f"{ctx.spec.time.burst.inter_arrival_cv:g}, simulated by the gate over {simulated} of them"
    )
    return relative(name, want, float(median), ctx.tolerance, noise, note=note)


def _charts(
    window: ext.WindowExposure, per_hour: np.ndarray, intensity: np.ndarray, start_hour: int
) -> list[Chart]:
    # no active conversation (no messages) leaves no intensity: the expected curve is then 0
    n, total = max(per_hour.sum(), 1.0), intensity.sum() or 1.0
    hod = window.hour_of_day
    day = ((np.arange(len(hod)) + start_hour) // 24 + EPOCH_WEEKDAY_SHIFT) % 7
    charts = []
    for name, title, key, labels in (
        ("hour_of_day", "Hour of day (UTC)", hod, [f"{h:02d}" for h in range(24)]),
        ("day_of_week", "Day of week (UTC)", day, list(WEEKDAYS)),
    ):
        size = len(labels)
        measured = np.bincount(key, weights=per_hour, minlength=size) / n
        expected = np.bincount(key, weights=intensity, minlength=size) / total
        charts.append(
            Chart(name, title, title.lower(), None, labels, measured.tolist(), expected.tolist())
        )
    return charts


CHECK = Check(5, "temporal", "Temporal profile", DISTRIBUTION, run)
