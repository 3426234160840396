"""Check temporal on tiny datasets.

The spec here: a 7-day window ending at the snapshot (Thursday 2026-01-01 00:00 UTC), so it
holds Thursday to Wednesday with one weekend (27-28 December); a diurnal profile of 3 in the
peak hours (9-12, 18-21), 1 in the trough (0-6) and 2 elsewhere (the midpoint); weekdays twice
as busy as weekend days; inter_arrival_cv 1, so a count's variance is not inflated by bursts.
One conversation opens at the window's first hour and gets, in each hour, exactly its intensity
in messages: 6 / 2 / 4 an hour on weekdays, 3 / 1 / 2 on weekends, 576 in all. Its activity is
then constant over the window and cancels out of both ratios:

- peak / trough: 6 peak and 6 trough hours a day weigh 5 x 2 + 2 x 1 = 12 each per hour of
  day, so the measured ratio is peak messages / trough messages = 216 / 72 = 3, the spec's;
- weekday / weekend: 240 and 96 hours of diurnal weight (5 and 2 days of 48), so the ratio is
  (480 / 240) / (96 / 96) = 2, the spec's;
- noise: 4 sqrt(1 / E_a + 1 / E_b) with the expected counts E = 216, 72 and 480, 96.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from synthgen.engine.timemodel import median_gap_cv

SPEC = {
    "time.window_days": 7,
    "time.diurnal.peak_to_trough": 3,
    "time.weekday_to_weekend": 2,
    "time.burst.inter_arrival_cv": 1,
}
PEAK = (*range(9, 12), *range(18, 21))
TROUGH = tuple(range(6))
WEEKEND_DAYS = (2, 3)  # window days 0..6 are Thu, Fri, Sat, Sun, Mon, Tue, Wed
PEAK_NOISE = 4 * math.sqrt(1 / 216 + 1 / 72)  # 0.5443
WEEK_NOISE = 4 * math.sqrt(1 / 480 + 1 / 96)  # 0.4472


def _per_hour() -> np.ndarray:
    """Messages in each hour of the window (7 x 24): the spec's intensity, 576 in all."""
    profile = np.array([3 if h in PEAK else 1 if h in TROUGH else 2 for h in range(24)])
    factor = np.array([1 if d in WEEKEND_DAYS else 2 for d in range(7)])
    return (factor[:, None] * profile[None, :]).ravel()


def _world(tiny: Any, per_hour: np.ndarray, changes: dict[str, Any] | None = None) -> Any:
    w = tiny.world({**SPEC, **(changes or {})})
    users = w.add_users(2)
    days = w.raw["time"]["window_days"]
    start = w.at(days=days)
    cid = w.conversation(users, created=start)
    for hour, n in enumerate(per_hour):
        for i in range(int(n)):  # n messages spread evenly inside the hour
            w.message(cid, start + hour * tiny.HOUR + i * tiny.HOUR // int(n), users[i % 2])
    return w


def test_messages_at_the_spec_intensity_measure_the_spec_ratios(tiny: Any, tmp_path: Path) -> None:
    per_hour = _per_hour()
    assert per_hour.sum() == 576
    outcome = tiny.run(_world(tiny, per_hour).write(tmp_path / "ds"), "temporal", 0.6)
    peak = tiny.metric(outcome, "peak / trough")
    assert (peak.expected, peak.measured, peak.status) == (
        pytest.approx(3.0),
        pytest.approx(3.0),
        "PASS",
    )
    assert peak.noise == pytest.approx((PEAK_NOISE, PEAK_NOISE))
    week = tiny.metric(outcome, "weekday / weekend")
    assert (week.expected, week.measured, week.status) == (
        pytest.approx(2.0),
        pytest.approx(2.0),
        "PASS",
    )
    assert week.noise == pytest.approx((WEEK_NOISE, WEEK_NOISE))
    burst = tiny.metric(outcome, "burst")
    assert burst.status == "SKIP"
    assert "1 rooms with >= 100 messages (need 5)" in burst.note
    # the charts are the measured shares against the spec's: equal here
    hour_of_day = next(c for c in outcome.charts if c.name == "hour_of_day")
    assert hour_of_day.measured == pytest.approx(hour_of_day.expected)


def _peak_ratio_4_8() -> np.ndarray:
    """The same 576 messages with 240 in peak hours and 50 in trough hours: ratio 4.8, a
    deviation of exactly 0.6 from the spec's 3."""
    per_hour = _per_hour().reshape(7, 24)
    per_hour[0, 9] += 24  # peak 216 -> 240
    per_hour[4, 0:6] = 0  # Monday's trough: -12
    per_hour[5, 0:5] = 0  # Tuesday's trough but its last hour: -10 -> 50
    per_hour[0, 12] -= 2  # an ordinary hour gives back the 2 extra
    assert per_hour.sum() == 576
    assert per_hour[:, PEAK].sum() == 240 and per_hour[:, TROUGH].sum() == 50
    return per_hour.ravel()


@pytest.mark.parametrize(
    ("tolerance", "status"),
    [
        (0.6, "PASS"),  # deviation 0.6 at a tolerance of 0.6
        (0.59, "WARN"),  # just outside: noise (0.544) is inside the tolerance, so it judges
        (0.29, "WARN"),  # the noise is wider than the tolerance: judged against the noise
        (0.2, "WARN"),
    ],
)
def test_peak_ratio_at_the_tolerance(
    tiny: Any, tmp_path: Path, tolerance: float, status: str
) -> None:
    outcome = tiny.run(
        _world(tiny, _peak_ratio_4_8()).write(tmp_path / "ds"), "temporal", tolerance
    )
    m = tiny.metric(outcome, "peak / trough")
    assert m.expected == pytest.approx(3.0)
    assert m.measured == pytest.approx(4.8)
    assert m.deviation == pytest.approx(0.6)
    assert m.status == status


def test_peak_ratio_beyond_twice_the_noise_fails(tiny: Any, tmp_path: Path) -> None:
    per_hour = _per_hour().reshape(7, 24)
    per_hour[:, 9] += 40  # peak 216 + 280 = 496 against trough 72: ratio 6.89, deviation 1.30
    outcome = tiny.run(_world(tiny, per_hour.ravel()).write(tmp_path / "ds"), "temporal", 0.3)
    m = tiny.metric(outcome, "peak / trough")
    assert m.measured == pytest.approx(496 / 72)
    # 856 messages: the expected counts grow with them, and the noise shrinks (0.4465)
    noise = 4 * math.sqrt(1 / (216 * 856 / 576) + 1 / (72 * 856 / 576))
    assert m.noise == pytest.approx((noise, noise))
    assert m.deviation == pytest.approx(496 / 216 - 1)
    assert m.deviation > 2 * noise
    assert m.status == "FAIL"


@pytest.mark.parametrize("days", [1, 2, 3])
def test_a_window_shorter_than_a_week_without_a_weekend(
    tiny: Any, tmp_path: Path, days: int
) -> None:
    # the window's last 1-3 days are Monday to Wednesday: no Saturday or Sunday among them
    per_hour = np.tile(_per_hour()[-24:], days)
    w = _world(tiny, per_hour, {"time.window_days": days})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by zero on the way
        outcome = tiny.run(w.write(tmp_path / "ds"), "temporal", 0.5)
    week = tiny.metric(outcome, "weekday / weekend")
    assert (week.status, week.expected, week.measured) == ("SKIP", None, None)
    assert week.note == f"not measurable: the {days}-day window has no weekend hours"
    peak = tiny.metric(outcome, "peak / trough")
    assert peak.expected == pytest.approx(3.0)
    assert peak.measured == pytest.approx(3.0)


def test_no_conversation_active_in_the_trough_hours(tiny: Any, tmp_path: Path) -> None:
    # a one-day window (a Wednesday) whose only conversation opens at 07:00: every trough hour
    # comes before it, so the peak / trough ratio has no denominator
    per_hour = _per_hour()[-24:].copy()
    per_hour[:7] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = _world(tiny, per_hour, {"time.window_days": 1})
        tables = w.tables()
        tables["conversations"][0]["createdAt"] = tables["messages"][0]["createdAt"]
        outcome = tiny.run(w.write(tmp_path / "ds", tables), "temporal", 0.5)
    peak = tiny.metric(outcome, "peak / trough")
    assert (peak.status, peak.expected) == ("SKIP", None)
    assert peak.note == "insufficient data: no conversation is active in the trough hours"


def _gapped_rooms(tiny: Any, rooms: int, messages: int) -> Any:
    """`rooms` rooms of `messages` messages whose gaps alternate 10 s and 30 s: each room's gaps
    have mean 20 s and population sd 10 s, a CV of exactly 0.5."""
    w = tiny.world(SPEC)
    users = w.add_users(2)
    for r in range(rooms):
        start = w.at(days=6) + r * tiny.HOUR
        cid = w.conversation(users, created=start, kind="GROUP", size_class="small")
        t = start
        for i in range(messages):
            w.message(cid, t, users[i % 2])
            t += (10 if i % 2 == 0 else 30) * tiny.US
    return w


def test_burst_cv_of_clockwork_rooms(tiny: Any, tmp_path: Path) -> None:
    w = _gapped_rooms(tiny, 5, 101)
    ds = w.write(tmp_path / "ds")
    outcome = tiny.run(ds, "temporal", 0.15)
    m = tiny.metric(outcome, "burst")
    assert m.measured == pytest.approx(0.5)
    # the expectation, derived without the gate's simulation: inter_arrival_cv 1 makes every
    # message open its own burst, a Poisson stream over the intensity, whose gaps have a CV of
    # 1 (a little more: the rate varies over the day and the week) ...
    assert 1.0 < m.expected < 1.25
    # ... and the engine's own streams realise the same over many rooms like these
    t = ds.spec.time
    window = t.window_days * tiny.DAY
    first = np.array([w.at(days=6) + r * tiny.HOUR for r in range(5)], dtype=np.int64)
    fraction = np.repeat((first - (t.snapshot_us - window)) / window, 40)
    engine = median_gap_cv(t, 1.0, np.full(len(fraction), 101, dtype=np.int64), fraction)
    assert m.expected == pytest.approx(engine, rel=0.1), (m.expected, engine)
    # every room has the same CV: the spread, hence the noise, is 0; the deviation fails
    assert m.noise == (0.0, 0.0)
    assert m.status == "FAIL"


@pytest.mark.parametrize(("rooms", "messages"), [(4, 101), (5, 99)])
def test_burst_needs_five_rooms_of_a_hundred_messages(
    tiny: Any, tmp_path: Path, rooms: int, messages: int
) -> None:
    outcome = tiny.run(_gapped_rooms(tiny, rooms, messages).write(tmp_path / "ds"), "temporal")
    m = tiny.metric(outcome, "burst")
    assert m.status == "SKIP"
    busy = rooms if messages >= 100 else 0
    assert m.note == f"insufficient data: {busy} rooms with >= 100 messages (need 5)"


def test_no_messages_at_all(tiny: Any, tmp_path: Path) -> None:
    w = tiny.world(SPEC)
    w.conversation(w.add_users(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the expected curves divided 0 by 0
        outcome = tiny.run(w.write(tmp_path / "ds"), "temporal")
    assert [m.status for m in outcome.metrics] == ["SKIP", "SKIP", "SKIP"]
    for chart in outcome.charts:
        assert chart.measured == [0.0] * len(chart.labels or [])
        assert chart.expected == [0.0] * len(chart.labels or [])
