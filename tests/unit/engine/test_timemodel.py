"""Time model: the diurnal and weekly shape, bursts and strictly increasing times."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgen.engine import timemodel
from synthgen.engine.timemodel import (
    IntensityGrid,
    bursty_times,
    hourly_profile,
    weekday_of,
)
from synthgen.spec import load_spec
from synthgen.units import US_PER_DAY, US_PER_HOUR

SPEC = load_spec()
GRID = IntensityGrid.build(SPEC.time)


def test_profile_peaks_and_trough() -> None:
    profile = hourly_profile(SPEC.time.diurnal)
    assert profile[9:12].tolist() == [2.5] * 3 and profile[18:21].tolist() == [2.5] * 3
    assert profile[0:6].tolist() == [1.0] * 6


def test_weekday_of_known_dates() -> None:
    # 2026-01-01 is a Thursday; 2025-12-27 a Saturday
    assert weekday_of(np.array([SPEC.time.snapshot_us]))[0] == 3
    assert weekday_of(np.array([SPEC.time.snapshot_us - 5 * US_PER_DAY]))[0] == 5


def test_sampled_times_follow_the_intensity() -> None:
    rng = np.random.default_rng(3)
    n = 400_000
    lo = np.full(n, GRID.start_us, dtype=np.int64)
    hi = np.full(n, GRID.end_us, dtype=np.int64)
    t = GRID.sample(rng, lo, hi)
    hours = (t // US_PER_HOUR) % 24
    per_hour = np.bincount(hours, minlength=24)
    ratio = per_hour[[9, 10, 11, 18, 19, 20]].mean() / per_hour[0:6].mean()
    assert abs(ratio - 2.5) < 0.1


@settings(max_examples=30, deadline=None)
@given(
    counts=st.lists(st.integers(1, 3000), min_size=1, max_size=8),
    seed=st.integers(0, 2**32 - 1),
    span_hours=st.integers(1, 2000),
)
def test_bursty_times_strictly_increase_inside_their_piece(
    counts: list[int], seed: int, span_hours: int
) -> None:
    rng = np.random.default_rng(seed)
    k = len(counts)
    lo = np.full(k, GRID.start_us, dtype=np.int64) + np.arange(k) * US_PER_HOUR
    hi = lo + span_hours * US_PER_HOUR
    hi = np.minimum(hi, GRID.end_us)
    c = np.array(counts, dtype=np.int64)
    t = bursty_times(rng, GRID, lo, hi, c, 2.5, 40.0, 0.1)
    piece = np.repeat(np.arange(k), c)
    assert len(t) == c.sum()
    assert np.all(t >= lo[piece]) and np.all(t < hi[piece])
    same = piece[1:] == piece[:-1]
    assert np.all(np.diff(t)[same] > 0)


def test_burst_cv_near_target() -> None:
    rng = np.random.default_rng(5)
    k = 200
    lo = np.full(k, GRID.start_us, dtype=np.int64)
    hi = np.full(k, GRID.end_us, dtype=np.int64)
    c = np.full(k, 500, dtype=np.int64)
    t = bursty_times(rng, GRID, lo, hi, c, 2.5, 40.0, 0.1)
    gaps = np.diff(t.reshape(k, 500), axis=1).astype(np.float64)
    cv = gaps.std(axis=1) / gaps.mean(axis=1)
    assert 2.0 < np.median(cv) < 3.2


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), pieces=st.integers(1, 30), huge=st.booleans())
def test_sort_within_pieces_equals_a_two_key_sort(seed: int, pieces: int, huge: bool) -> None:
    rng = np.random.default_rng(seed)
    # huge spans take the lexsort path (shifted keys would overflow int64)
    width = 2**61 if huge else 10**6
    lo = rng.integers(0, width, pieces).astype(np.int64)
    hi = lo + rng.integers(1, width, pieces)
    counts = rng.integers(0, 50, pieces)
    piece_of = np.repeat(np.arange(pieces), counts)
    t = lo[piece_of] + (rng.random(len(piece_of)) * (hi - lo)[piece_of]).astype(np.int64)
    expected = t[np.lexsort((t, piece_of))]
    assert np.array_equal(timemodel._sort_within_pieces(t, piece_of, lo, hi), expected)


def test_realised_gap_cv_follows_the_spec_and_rises_under_a_sharp_peak() -> None:
    rng = np.random.default_rng(3)
    counts = np.exp(rng.uniform(np.log(100), np.log(5000), 60)).astype(np.int64)
    start = rng.random(60) * 0.5
    flat = timemodel.median_gap_cv(SPEC.time, 2.5, counts, start)
    assert abs(flat - 2.5) < 0.25
    peaked = dataclasses.replace(
        SPEC.time,
        diurnal=dataclasses.replace(
            SPEC.time.diurnal, hourly_profile=tuple([1.0] * 19 + [40.0, 40.0] + [1.0] * 3)
        ),
    )
    assert timemodel.median_gap_cv(peaked, 2.5, counts, start) > flat * 1.1
    # rooms too small to have a spread are NaN, not zero
    cvs = timemodel.gap_cvs(SPEC.time, 2.5, np.array([1, 2, 500]), np.zeros(3))
    assert np.isnan(cvs[0]) and np.isfinite(cvs[2])
