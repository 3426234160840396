"""Judging rules, tolerance parsing and the GO / NO-GO decision."""

from __future__ import annotations

import math

import pytest

from synthgen.fidelity.results import (
    CheckResult,
    Metric,
    Outcome,
    Status,
    ToleranceError,
    at_least,
    check_status,
    decide,
    exact,
    needed_scale,
    parse_tolerance,
    relative,
    skipped,
)


def test_tolerance_names_and_numbers() -> None:
    assert parse_tolerance("strict") == 0.05
    assert parse_tolerance("normal") == 0.15
    assert parse_tolerance("RELAXED") == 0.30
    assert parse_tolerance("0.2") == 0.2
    assert parse_tolerance(1.0) == 1.0
    for bad in ("loose", "0", "-0.1", "1.5", "nan", ""):
        with pytest.raises(ToleranceError, match="--tolerance"):
            parse_tolerance(bad)


@pytest.mark.parametrize(
    ("measured", "status"),
    [
        (1.0, Status.PASS),
        (1.15, Status.PASS),
        (0.85, Status.PASS),
        (1.2, Status.WARN),
        (0.7, Status.WARN),
        (1.31, Status.FAIL),
        (0.5, Status.FAIL),
        (math.nan, Status.FAIL),
    ],
)
def test_relative_bands(measured: float, status: Status) -> None:
    m = relative("x", 1.0, measured, 0.15)
    assert m.status is status
    if math.isfinite(measured):
        assert m.deviation == pytest.approx(abs(measured - 1.0))


def test_noise_wider_than_the_tolerance_is_insufficient_data() -> None:
    inside = relative("x", 1.0, 1.25, 0.15, noise=0.4)
    assert inside.status is Status.SKIP
    assert "insufficient data" in inside.note
    assert relative("x", 1.0, 1.5, 0.15, noise=0.4).status is Status.WARN
    assert relative("x", 1.0, 1.9, 0.15, noise=0.4).status is Status.FAIL
    # noise within the tolerance changes nothing
    assert relative("x", 1.0, 1.2, 0.15, noise=0.1).status is Status.WARN


def test_asymmetric_noise_uses_the_side_of_the_deviation() -> None:
    noise = (0.1, 0.6)  # low side, high side
    assert relative("q", 100.0, 140.0, 0.15, noise).status is Status.SKIP
    assert relative("q", 100.0, 70.0, 0.15, noise).status is Status.WARN


def test_zero_expectation() -> None:
    assert relative("x", 0.0, 0.0, 0.15).status is Status.PASS
    assert relative("x", 0.0, 0.01, 0.15).status is Status.FAIL


def test_exact_and_floor_rules() -> None:
    assert exact("violations", 0).status is Status.PASS
    assert exact("violations", 1).status is Status.FAIL
    assert exact("count", 160, expected=160).status is Status.PASS
    assert at_least("smallest", 200, 200).status is Status.PASS
    assert at_least("smallest", 200, 199).status is Status.FAIL
    assert skipped("x", 1.0, "too few").status is Status.SKIP


def _metric(status: Status) -> Metric:
    return Metric(f"m-{status.value}", "relative", 1.0, 1.0, status)


def test_check_status_is_the_worst_metric_but_skips_do_not_hide_passes() -> None:
    assert check_status([_metric(Status.PASS), _metric(Status.SKIP)]) is Status.PASS
    assert check_status([_metric(Status.SKIP)]) is Status.SKIP
    assert check_status([_metric(Status.PASS), _metric(Status.WARN)]) is Status.WARN
    assert check_status([_metric(Status.WARN), _metric(Status.FAIL)]) is Status.FAIL
    assert check_status([]) is Status.SKIP


def test_a_check_with_every_figure_skipped_is_skip_not_pass() -> None:
    """Counts of violations (and floors) passing are no evidence for a distribution: with every
    figure SKIP the check is SKIP (it was PASS at dev x 0.005 with p95 364 % off)."""
    skips = [skipped("alpha", 1.8, "too few"), relative("p95", 100.0, 464.0, 0.15, noise=5.0)]
    assert skips[1].status is Status.SKIP
    assert check_status([exact("outside the range", 0), *skips]) is Status.SKIP
    assert check_status([at_least("smallest", 10, 12), *skips]) is Status.SKIP
    # an exact count the spec fixes is a figure: the class counts judge the mix
    assert check_status([exact("DIRECT", 280, expected=280), *skips]) is Status.PASS
    assert check_status([relative("median", 10.0, 10.0, 0.15), *skips]) is Status.PASS
    # an integrity check has no distribution to judge: its rules passing is a PASS
    assert check_status([exact("orphans", 0), *skips], "integrity") is Status.PASS


def test_the_scale_a_skipped_figure_needs() -> None:
    # noise 1 / sqrt(draws) (symmetric), tolerance 0.1: judged from 100 draws; 25 draws at
    # scale 0.5 -> 100 draws at scale 2
    m = relative("x", 1.0, 1.15, 0.1, noise=0.2, sample=25, noise_at=lambda k: (k**-0.5, k**-0.5))
    assert m.status is Status.SKIP
    assert needed_scale(m, 0.5) == 2.0
    # 101 draws needed (noise just above at 100): scale 0.5 x 101 / 25 = 2.02, to 2 figures 2.1
    m.noise_at = lambda k: (1.001 * k**-0.5, 0.0)
    assert needed_scale(m, 0.5) == 2.1
    # without a noise function: noise 0.3 against 0.15 needs four times the draws
    bare = relative("y", 1.0, 1.2, 0.15, noise=(0.05, 0.3))
    assert bare.status is Status.SKIP
    assert needed_scale(bare, 0.01) == 0.04
    # nothing to compute for a judged figure or one skipped without a noise figure
    assert needed_scale(relative("z", 1.0, 1.0, 0.15), 0.01) is None
    assert needed_scale(skipped("w", 1.0, "no rooms"), 0.01) is None


def test_a_critical_skip_is_no_go_with_the_scale_to_run_at() -> None:
    figure = relative("p99", 100.0, 300.0, 0.15, noise=4.0)
    figure.min_scale = 0.03
    late = relative("p95", 50.0, 80.0, 0.15, noise=1.0)
    late.min_scale = 0.5
    metrics = [exact("outside", 0), figure, late]
    result = CheckResult(
        2, "rooms", "rooms", "distribution", True, check_status(metrics), Outcome(metrics),
        [], 0.0,
    )  # fmt: skip
    decision = decide([result], 3)
    assert decision.verdict == "NO-GO"
    assert decision.reasons == [
        "check 2 rooms (critical) is SKIP: too small to judge: run at scale ≥ 0.03 (p99, p95)"
    ]
    # not critical: a SKIP neither passes nor blocks
    result.critical = False
    assert decide([result], 3).verdict == "GO"


def _result(name: str, kind: str, critical: bool, *statuses: Status) -> CheckResult:
    metrics = [_metric(s) for s in statuses]
    return CheckResult(
        1, name, name, kind, critical, check_status(metrics), Outcome(metrics), [], 0.0
    )


def test_decision_rules() -> None:
    good = [
        _result("mix", "distribution", True, Status.PASS, Status.SKIP),
        _result("ints", "integrity", False, Status.PASS),
    ]
    go = decide(good, 3)
    assert go.go and go.verdict == "GO" and go.unconfirmed == ["mix: m-SKIP"]
    critical_warn = decide([_result("mix", "distribution", True, Status.WARN)], 3)
    assert not critical_warn.go
    assert critical_warn.reasons == ["check 1 mix (critical) is WARN: m-WARN"]
    integrity = decide([_result("ints", "integrity", False, Status.FAIL)], 3)
    assert integrity.reasons == ["check 1 ints (integrity) failed: m-FAIL"]
    warn_only = [_result(f"w{i}", "distribution", False, Status.WARN) for i in range(3)]
    assert decide(warn_only, 3).go
    assert decide(warn_only, 3).warnings == 3
    too_many = decide([*warn_only, _result("w3", "distribution", False, Status.WARN)], 3)
    assert not too_many.go and too_many.reasons == ["4 warnings, more than the 3 allowed"]
    non_critical_fail = decide([_result("time", "distribution", False, Status.FAIL)], 3)
    assert non_critical_fail.reasons == ["check 1 time failed: m-FAIL"]
