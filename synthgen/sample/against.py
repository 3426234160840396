"""Fidelity against production: a synthetic dataset's distributions vs the sampled shape metrics.

The synthetic values go into production's published buckets; the distance is Kolmogorov-Smirnov
for ordered histograms and total variation for categorical ones (hour and weekday included), and
the score is 1 - distance. Judging follows the fidelity gate's rules (PASS / WARN / FAIL, SKIP
inside the sampling noise; a critical check must PASS, any FAIL is NO-GO).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from synthgen.contract import MEDIA_KINDS
from synthgen.gate import DEFAULT_TOLERANCE, banded
from synthgen.sample.buckets import counts_on, interval_edges
from synthgen.sample.histograms import MESSAGE_TYPES
from synthgen.sample.metrics import ShapeMetrics, load_metrics
from synthgen.sample.synthetic import SyntheticHistograms
from synthgen.spec import Spec, parse_spec
from synthgen.storage import DatasetPath, read_dataset_manifest
from synthgen.units import SECONDS_PER_DAY, US_PER_DAY
from synthgen.verdict import GO, Verdict

KS_NOISE = 1.95  # two-sample KS critical value at alpha = 0.001, times sqrt(1/n + 1/m)
TV_NOISE_SIGMAS = 3.0
# What to do when a check is off: the spec section that sets it, and how calibrate helps.
NEXT_STEPS = {
    "conversation_mix": "set conversations.mix and the members per class in the spec",
    "messages_per_conversation": "set messages_per_conversation (regular and heavy) in the spec",
    "heavy_rooms": "set messages_per_conversation.heavy in the spec",
    "content_length": "set content.length_lognormal (and the captions) in the spec",
    "media": "set media.ratio, media.mix and the attachment sizes in the spec",
    "temporal": "set time.diurnal and time.bursts in the spec",
    "read_receipts": "set read_receipts (per, read_rate, delay_mixture) in the spec",
}
CALIBRATE_HINT = (
    "`synthgen calibrate METRICS --out SPEC` fits it from these metrics (its 'moved' lines say "
    "which fits are loose), then generate with --spec SPEC"
)
# (histogram, check it belongs to, distance) — one line per comparison
COMPARISONS: tuple[tuple[str, str, str], ...] = (
    ("conversation_mix", "conversation_mix", "TV"),
    ("small_group_members", "conversation_mix", "KS"),
    ("large_group_members", "conversation_mix", "KS"),
    ("messages_per_conversation", "messages_per_conversation", "KS"),
    ("heavy_rooms", "heavy_rooms", "TV"),
    ("heavy_messages", "heavy_rooms", "TV"),
    ("content_length", "content_length", "KS"),
    ("captions", "content_length", "TV"),
    ("caption_length", "content_length", "KS"),
    ("message_types", "media", "TV"),
    *((f"attachment_size.{k}", "media", "KS") for k in MEDIA_KINDS),
    *((f"mime_types.{k}", "media", "TV") for k in MEDIA_KINDS),
    ("hour_of_day", "temporal", "TV"),
    ("day_of_week", "temporal", "TV"),
    ("inter_arrival_seconds", "temporal", "KS"),
    ("burst_cv", "temporal", "KS"),
    ("read_state", "read_receipts", "TV"),
    ("receipt_delay_seconds", "read_receipts", "KS"),
)


@dataclass(frozen=True)
class Comparison:
    """One distribution: production's histogram against the synthetic one."""

    name: str
    check: str
    distance_kind: str
    distance: float
    noise: float
    status: str
    n_production: float
    n_synthetic: float
    note: str = ""
    detail: str = ""  # where they differ most: production's value beside the dataset's

    @property
    def score(self) -> float:
        """1 - distance, between 0 and 1."""
        return 1.0 - self.distance


@dataclass(frozen=True)
class AgainstReport:
    """Every comparison, each check's status, and the GO / NO-GO decision with its reasons."""

    comparisons: list[Comparison]
    checks: dict[str, str]
    critical: tuple[str, ...]
    verdict: str
    reasons: list[str]
    warnings: int
    max_warnings: int
    tolerance: float
    notes: list[str] = field(default_factory=list)

    @property
    def go(self) -> bool:
        return self.verdict == GO

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (scores included)."""
        out = asdict(self)
        for entry, comparison in zip(out["comparisons"], self.comparisons, strict=True):
            entry["score"] = comparison.score
        return out


def judge(distance: float, noise: float, tolerance: float) -> str:
    """The fidelity gate's rule: tolerance bands, widened to the noise where the noise is wider."""
    if noise <= tolerance:
        return banded(distance, tolerance)
    return "SKIP" if distance <= noise else banded(distance, noise)


def ks(p: NDArray[np.float64], s: NDArray[np.float64]) -> float:
    """Kolmogorov-Smirnov distance between two histograms on the same buckets."""
    if p.sum() <= 0 or s.sum() <= 0:
        return 1.0
    return float(np.max(np.abs(np.cumsum(p) / p.sum() - np.cumsum(s) / s.sum())))


def tv(p: dict[str, float], s: dict[str, float]) -> tuple[float, float]:
    """Total-variation distance of two categorical histograms, and its noise half-width."""
    tp, ts = sum(p.values()), sum(s.values())
    if tp <= 0 or ts <= 0:
        return 1.0, 0.0
    keys = set(p) | set(s)
    shares = {k: (p.get(k, 0.0) / tp, s.get(k, 0.0) / ts) for k in keys}
    distance = 0.5 * sum(abs(a - b) for a, b in shares.values())
    spread = math.sqrt(1.0 / tp + 1.0 / ts)
    noise = 0.5 * TV_NOISE_SIGMAS * spread * sum(math.sqrt(a * (1 - a)) for a, _ in shares.values())
    return distance, noise


def ks_detail(
    prod: NDArray[np.float64], syn: NDArray[np.float64], finite: NDArray[np.float64]
) -> str:
    """Where the two cumulative shares differ most: both shares below that bucket edge."""
    if prod.sum() <= 0 or syn.sum() <= 0 or not len(finite):
        return ""
    p, s = np.cumsum(prod) / prod.sum(), np.cumsum(syn) / syn.sum()
    i = int(np.argmax(np.abs(p - s)[: len(finite)]))
    return f"below {finite[i]:g}: production {p[i]:.1%}, dataset {s[i]:.1%}"


def tv_detail(p: dict[str, float], s: dict[str, float]) -> str:
    """The category whose shares differ most, with both shares."""
    tp, ts = sum(p.values()), sum(s.values())
    if tp <= 0 or ts <= 0:
        return ""
    shares = {k: (p.get(k, 0.0) / tp, s.get(k, 0.0) / ts) for k in set(p) | set(s)}
    key = max(sorted(shares), key=lambda k: abs(shares[k][0] - shares[k][1]))
    return f"{key}: production {shares[key][0]:.1%}, dataset {shares[key][1]:.1%}"


def _weekday_occurrences(end_day: int, days: int) -> NDArray[np.float64]:
    weekday = (np.arange(end_day - days, end_day) + 3) % 7  # 1970-01-01 was a Thursday
    return np.bincount(weekday, minlength=7).astype(np.float64)


class _Comparer:
    def __init__(self, metrics: ShapeMetrics, synthetic: SyntheticHistograms, spec: Spec) -> None:
        self.m, self.syn, self.spec = metrics, synthetic, spec

    def production_ordered(self, name: str) -> list[Any]:
        if name == "messages_per_conversation":
            return [
                *self.m.ordered("messages_per_regular_conversation"),
                *self.m.ordered("messages_per_heavy_conversation"),
            ]
        return self.m.ordered(name)

    def ordered(self, name: str) -> tuple[float, float, float, float, str, str]:
        buckets = self.production_ordered(name)
        if not buckets:
            return 0.0, math.inf, 0.0, 0.0, "production histogram suppressed", ""
        edges = interval_edges(buckets)
        finite = edges[np.isfinite(edges)]
        prod = counts_on(np.concatenate([[-math.inf], finite, [math.inf]]), buckets)
        syn = self.syn.ordered(name, finite)
        n_p, n_s = float(prod.sum()), float(syn.sum())
        noise = KS_NOISE * math.sqrt(1.0 / max(n_p, 1.0) + 1.0 / max(n_s, 1.0))
        return ks(prod, syn), noise, n_p, n_s, "", ks_detail(prod, syn, finite)

    def categorical(self, name: str) -> tuple[float, float, float, float, str, str]:
        if name in ("hour_of_day", "day_of_week"):
            prod, syn = self._cyclic(name)
        else:
            prod, syn = self.m.categorical(name), self.syn.categorical(name)
        note = ""
        if name.startswith("mime_types.") or name == "message_types":
            # the generator can only make named types: compare the named ones, report the rest
            other = prod.get("other", 0.0) + prod.get("OTHER", 0.0)
            if other:
                note = f"{other / sum(prod.values()):.1%} of production is of unnamed types"
            prod = {k: v for k, v in prod.items() if k not in ("other", "OTHER")}
            syn = {k: v for k, v in syn.items() if k not in ("other", "OTHER")}
        if name == "message_types":
            prod = {k: v for k, v in prod.items() if k in MESSAGE_TYPES}
        distance, noise = tv(prod, syn)
        return distance, noise, sum(prod.values()), sum(syn.values()), note, tv_detail(prod, syn)

    def _cyclic(self, name: str) -> tuple[dict[str, float], dict[str, float]]:
        size = 24 if name == "hour_of_day" else 7
        unit = np.arange(size + 1, dtype=np.float64)
        prod = counts_on(np.concatenate([unit[:-1], [math.inf]]), self.m.ordered(name))
        syn = self.syn.ordered(name, unit[:-1])[1:]
        if name == "day_of_week":  # rates per day of the week: windows hold unequal weekdays
            end = int(self.m.window_end.timestamp() // SECONDS_PER_DAY)
            prod = prod / np.maximum(_weekday_occurrences(end, self.m.thresholds.window_days), 1)
            snap = int(self.spec.time.snapshot_us // US_PER_DAY)
            syn = syn / np.maximum(_weekday_occurrences(snap, self.spec.time.window_days), 1)
        return {str(i): float(v) for i, v in enumerate(prod)}, {
            str(i): float(v) for i, v in enumerate(syn)
        }


def decide(
    comparisons: list[Comparison], critical: tuple[str, ...], max_warnings: int
) -> tuple[dict[str, str], list[str], int]:
    """Each check's status (worst of its comparisons; SKIP only if all are) and the reasons."""
    severity = {"PASS": 0, "SKIP": 1, "WARN": 2, "FAIL": 3}
    checks: dict[str, str] = {}
    for check in dict.fromkeys(c.check for c in comparisons):
        statuses = [c.status for c in comparisons if c.check == check]
        worst = max(statuses, key=severity.__getitem__)
        checks[check] = "PASS" if worst == "SKIP" and "PASS" in statuses else worst
    reasons, warnings = [], 0
    for check, status in checks.items():
        bad = "; ".join(
            f"{c.name} ({c.distance_kind} {c.distance:.3f}{', ' + c.detail if c.detail else ''})"
            for c in comparisons
            if c.check == check and c.status in ("WARN", "FAIL")
        )
        step = f"; next: {NEXT_STEPS.get(check, 'adjust the spec')}"
        if check in critical and status != "PASS":
            reasons.append(f"{check} (critical) is {status}: {bad or 'no data'}{step}")
        elif status == "FAIL":
            reasons.append(f"{check} failed: {bad}{step}")
        elif check not in critical:
            warnings += sum(1 for c in comparisons if c.check == check and c.status == "WARN")
    if warnings > max_warnings:
        reasons.append(f"{warnings} warnings, more than the {max_warnings} allowed")
    return checks, reasons, warnings


def compare_against(
    dataset: DatasetPath | str,
    metrics: ShapeMetrics | Path | str,
    tolerance: float = DEFAULT_TOLERANCE,
    spec: Spec | None = None,
) -> AgainstReport:
    """Compare a synthetic dataset with production's shape metrics and decide GO / NO-GO.

    `spec` defaults to the dataset's own (inline in its manifest): it supplies the critical
    checks, max_warnings and the generated window.
    """
    shape = metrics if isinstance(metrics, ShapeMetrics) else load_metrics(metrics)
    if spec is None:
        root = Path(dataset) if isinstance(dataset, str) else dataset
        spec = parse_spec(read_dataset_manifest(root)["spec"], source=f"{dataset} (inline spec)")
    comparer = _Comparer(shape, SyntheticHistograms(dataset, shape.thresholds), spec)
    comparisons = []
    for name, check, kind in COMPARISONS:
        measure = comparer.ordered if kind == "KS" else comparer.categorical
        distance, noise, n_p, n_s, note, detail = measure(name)
        status = judge(distance, noise, tolerance) if n_p > 0 else "SKIP"
        comparisons.append(
            Comparison(name, check, kind, distance, noise, status, n_p, n_s, note, detail)
        )
    critical = tuple(spec.fidelity.critical)
    checks, reasons, warnings = decide(comparisons, critical, spec.fidelity.max_warnings)
    verdict = Verdict.of(reasons).decision
    return AgainstReport(
        comparisons,
        checks,
        critical,
        verdict,
        reasons,
        warnings,
        spec.fidelity.max_warnings,
        tolerance,
    )
