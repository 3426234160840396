"""Results of the fidelity gate: metrics, check results, tolerance and the judging rules.

A metric compares a measured figure with the value the spec's model implies, by one of four
rules: `relative` (against the tolerance), `exact` (violations must be zero), `at_least` (a
floor) and `skipped` (too little data; the reason is kept). A relative metric may carry its
sampling noise (a NOISE_Z-sigma half-width); where that is wider than the tolerance, a deviation
inside the noise is SKIP, beyond it WARN, beyond twice it FAIL.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from synthgen.errors import SynthgenError
from synthgen.gate import BOUNDARY_SLACK, TOLERANCES, banded
from synthgen.verdict import decision


class Status(StrEnum):
    """Outcome of a metric or a check."""

    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    SKIP = "SKIP"


SEVERITY = {Status.PASS: 0, Status.SKIP: 1, Status.WARN: 2, Status.FAIL: 3}


class ToleranceError(SynthgenError):
    """--tolerance is not a known name or a fraction in (0, 1]."""


def parse_tolerance(value: str | float) -> float:
    """strict / normal / relaxed, or a relative tolerance as a number in (0, 1] (0.1 = 10%)."""
    if isinstance(value, str) and value.strip().lower() in TOLERANCES:
        return TOLERANCES[value.strip().lower()]
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ToleranceError(
            f"--tolerance: {value!r} is not strict, normal, relaxed or a number"
        ) from None
    if not (0.0 < number <= 1.0) or math.isnan(number):
        raise ToleranceError(f"--tolerance: must be a fraction in (0, 1], e.g. 0.15 (got {value})")
    return number


@dataclass
class Metric:
    """One measured figure against its expectation, with the verdict and why."""

    name: str
    rule: str
    expected: float | None
    measured: float | None
    status: Status
    deviation: float | None = None
    tolerance: float | None = None
    noise: tuple[float, float] | None = None
    note: str = ""
    unit: str = ""
    # how many draws the noise is for, and the noise for another number of draws: what finds
    # the scale at which a figure SKIPped for noise could be judged (min_scale)
    sample: int | None = None
    noise_at: Callable[[int], tuple[float, float]] | None = field(default=None, repr=False)
    min_scale: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (non-finite numbers become null)."""
        return {
            "name": self.name,
            "rule": self.rule,
            "expected": _finite(self.expected),
            "measured": _finite(self.measured),
            "status": self.status.value,
            "deviation": _finite(self.deviation),
            "tolerance": self.tolerance,
            "noise": None if self.noise is None else [_finite(v) for v in self.noise],
            "note": self.note,
            "unit": self.unit,
            "min_scale": self.min_scale,
        }


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def relative(
    name: str,
    expected: float,
    measured: float,
    tolerance: float,
    noise: float | tuple[float, float] = 0.0,
    note: str = "",
    unit: str = "",
    sample: int | None = None,
    noise_at: Callable[[int], tuple[float, float]] | None = None,
) -> Metric:
    """Judge |measured - expected| / |expected| against the tolerance, widened by sampling noise.

    `sample` is the number of draws the noise is for and `noise_at(n)` the noise for n draws
    (see needed_scale); both optional."""
    low, high = (noise, noise) if isinstance(noise, int | float) else noise
    if expected == 0:
        deviation = 0.0 if measured == 0 else math.inf
    else:
        deviation = abs(measured - expected) / abs(expected)
    side = high if measured >= expected else low
    if not math.isfinite(measured):
        status = Status.FAIL
    elif side <= tolerance:
        status = _banded(deviation, tolerance)
    else:
        within_noise = deviation <= side * (1 + BOUNDARY_SLACK)
        status = Status.SKIP if within_noise else _banded(deviation, side)
        if status is Status.SKIP:
            extra = (
                f"insufficient data: sampling noise ±{side:.0%} exceeds the ±{tolerance:.0%} "
                "tolerance (consistent with the spec, not a proof)"
            )
            note = f"{note}; {extra}" if note else extra
    return Metric(
        name,
        "relative",
        expected,
        measured,
        status,
        deviation,
        tolerance,
        (low, high),
        note,
        unit,
        sample,
        noise_at,
    )


def _banded(deviation: float, allowed: float) -> Status:
    return Status(banded(deviation, allowed))


def exact(name: str, measured: int, note: str = "", expected: int = 0) -> Metric:
    """A count that must equal `expected` (by default a count of violations that must be 0)."""
    status = Status.PASS if measured == expected else Status.FAIL
    return Metric(name, "exact", expected, measured, status, note=note)


def at_least(name: str, floor: float, measured: float, note: str = "", unit: str = "") -> Metric:
    """A figure that must not be below `floor`."""
    status = Status.PASS if measured >= floor else Status.FAIL
    return Metric(name, "at_least", floor, measured, status, note=note, unit=unit)


def skipped(
    name: str, expected: float | None, reason: str, measured: float | None = None
) -> Metric:
    """A figure that cannot be judged (e.g. too few conversations); the reason is reported."""
    return Metric(name, "skipped", expected, measured, Status.SKIP, note=reason)


@dataclass
class Chart:
    """A distribution to draw: measured histogram against the spec's expected curve."""

    name: str
    title: str
    x_label: str
    edges: list[float] | None
    labels: list[str] | None
    measured: list[float]
    expected: list[float]
    log_x: bool = False
    log_y: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "title": self.title,
            "x_label": self.x_label,
            "edges": self.edges,
            "labels": self.labels,
            "measured": [float(v) for v in self.measured],
            "expected": [float(v) for v in self.expected],
            "log_x": self.log_x,
            "log_y": self.log_y,
        }


@dataclass
class Finding:
    """One offending row (integrity checks): never more of a value than a masked fragment."""

    rule: str
    table: str
    column: str
    row_id: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return dict(self.__dict__)


@dataclass
class Outcome:
    """What a check's function returns: its metrics, charts, findings and notes."""

    metrics: list[Metric] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    """A check's outcome with its identity, status, timing and the SQL it ran."""

    number: int
    name: str
    title: str
    kind: str
    critical: bool
    status: Status
    outcome: Outcome
    sql: list[dict[str, Any]]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "number": self.number,
            "name": self.name,
            "title": self.title,
            "kind": self.kind,
            "critical": self.critical,
            "status": self.status.value,
            "seconds": round(self.seconds, 3),
            "metrics": [m.to_dict() for m in self.outcome.metrics],
            "charts": [c.to_dict() for c in self.outcome.charts],
            "findings": [f.to_dict() for f in self.outcome.findings],
            "notes": self.outcome.notes,
            "sql": self.sql,
        }


def is_figure(metric: Metric) -> bool:
    """Whether a metric is evidence for a distribution: a figure judged against the spec's
    model (relative, or skipped for want of data), or an exact count the spec fixes (a band
    total, a class count, the heavy-room count: expected non-zero). A count of violations
    (expected 0) or a floor bounds the data but says nothing of its shape."""
    if metric.rule in ("relative", "skipped"):
        return True
    return metric.rule == "exact" and metric.expected not in (None, 0)


def check_status(metrics: list[Metric], kind: str = "distribution") -> Status:
    """FAIL if any metric fails, else WARN if any warns; else, for a distribution check, SKIP
    when it has distribution figures and every one of them is SKIP (its counts alone are no
    evidence for the distribution); else PASS if any passed, else SKIP."""
    if not metrics:
        return Status.SKIP
    worst = max(metrics, key=lambda m: SEVERITY[m.status]).status
    if worst in (Status.FAIL, Status.WARN):
        return worst
    figures = [m for m in metrics if is_figure(m)]
    unjudged = figures and all(m.status is Status.SKIP for m in figures)
    if kind == "distribution" and unjudged:
        return Status.SKIP
    return Status.PASS if any(m.status is Status.PASS for m in metrics) else Status.SKIP


def needed_scale(metric: Metric, scale: float) -> float | None:
    """The scale from which a figure SKIPped for sampling noise could be judged: where its
    noise, on either side, is within the tolerance. With `noise_at`, the smallest number of
    draws that brings it there is searched (doubling, then bisection) and the scale grows with
    it (draws are band counts x scale); without, the noise of a mean, quantile or fit is taken to
    fall as 1 / sqrt(draws). Rounded up to two significant figures; None when not computable."""
    if metric.status is not Status.SKIP or metric.rule != "relative":
        return None
    if metric.noise is None or metric.tolerance is None or metric.tolerance <= 0:
        return None
    tol = metric.tolerance * (1 + BOUNDARY_SLACK)
    if metric.noise_at is not None and metric.sample:
        noise_at = metric.noise_at
        low, high = metric.sample, metric.sample
        while max(noise_at(high)) > tol:
            low, high = high, high * 2
            if high > metric.sample * 2**40:
                return None
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (mid, high) if max(noise_at(mid)) > tol else (low, mid)
        return _round_up(scale * high / metric.sample)
    worst = max(metric.noise)
    if not math.isfinite(worst):
        return None
    return _round_up(scale * (worst / metric.tolerance) ** 2)


def _round_up(value: float) -> float:
    """Up to two significant figures (a scale to type, never below what is needed)."""
    if value <= 0:
        return value
    step = 10.0 ** (math.floor(math.log10(value)) - 1)
    return round(math.ceil(value / step - 1e-9) * step, 12)


@dataclass
class Decision:
    """GO / NO-GO with the rationale naming each failing check."""

    go: bool
    reasons: list[str]
    warnings: int
    max_warnings: int
    unconfirmed: list[str]

    @property
    def verdict(self) -> str:
        """'GO' or 'NO-GO'."""
        return decision(self.go)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "verdict": self.verdict,
            "go": self.go,
            "reasons": self.reasons,
            "warnings": self.warnings,
            "max_warnings": self.max_warnings,
            "unconfirmed": self.unconfirmed,
        }


def decide(results: list[CheckResult], max_warnings: int) -> Decision:
    """Apply the decision rules.

    NO-GO when an integrity check fails, a critical check is not PASS, any check FAILs, or the
    non-critical distribution metrics hold more than `max_warnings` WARNs. SKIPped metrics
    (insufficient data) neither pass nor block; they are listed as unconfirmed.
    """
    reasons: list[str] = []
    warnings = 0
    unconfirmed: list[str] = []
    for r in results:
        failing = [m.name for m in r.outcome.metrics if m.status is Status.FAIL]
        warned = [m.name for m in r.outcome.metrics if m.status is Status.WARN]
        unconfirmed += [f"{r.name}: {m.name}" for m in r.outcome.metrics if m.status is Status.SKIP]
        label = f"check {r.number} {r.name}"
        if r.kind == "integrity" and r.status is not Status.PASS:
            reasons.append(f"{label} (integrity) failed: {', '.join(failing) or 'no data'}")
        elif r.critical and r.status is Status.SKIP:
            reasons.append(f"{label} (critical) is SKIP: {_too_small(r)}")
        elif r.critical and r.status is not Status.PASS:
            bad = failing + warned
            reasons.append(f"{label} (critical) is {r.status.value}: {', '.join(bad) or 'no data'}")
        elif r.status is Status.FAIL:
            reasons.append(f"{label} failed: {', '.join(failing)}")
        elif not r.critical and r.kind != "integrity":
            warnings += len(warned)
    if warnings > max_warnings:
        reasons.append(f"{warnings} warnings, more than the {max_warnings} allowed")
    return Decision(not reasons, reasons, warnings, max_warnings, unconfirmed)


def _too_small(result: CheckResult) -> str:
    """Why a critical check is SKIP: the smallest scale at which one of its figures can be
    judged (and the check is no longer SKIP), where computable."""
    skipped_names = [m.name for m in result.outcome.metrics if m.status is Status.SKIP]
    scales = [m.min_scale for m in result.outcome.metrics if m.min_scale is not None]
    where = f"run at scale ≥ {min(scales):g}" if scales else "run at a larger scale"
    return f"too small to judge: {where} ({', '.join(skipped_names) or 'no data'})"
