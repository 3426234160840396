"""Compare a pre and a post baseline into GO / NO-GO, with mitigations drawn from the plan and
the catalog.

GO when the average latency improvement (1 - geometric mean of post/pre medians) is above 30 %,
more than 60 % of the non-trivial sorts are gone (when there were any) and at most one query
degraded. Degraded means slower beyond noise (Mann-Whitney U, p < 0.01), by more than 10 % and an
absolute floor, and on the server too; the decision uses client-timed runs by default.
docs/design.md ("The index gate") says why.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from synthgen.errors import VerifyError
from synthgen.verdict import GO, Verdict
from synthgen.verify.findings import (
    expectations,
    mode_findings,
    physical_problems,
    settled_warnings,
)
from synthgen.verify.gains import new_index_gains
from synthgen.verify.mitigate import mitigations
from synthgen.verify.production import time_shares
from synthgen.verify.stats import mann_whitney_greater
from synthgen.verify.targets import (
    MIN_TARGET_IMPROVEMENT,
    query_ratios,
    query_summary,
    targeted_reasons,
    thresholds_line,
    weighted_improvement,
)

MIN_AVERAGE_IMPROVEMENT = 0.30
MIN_SORTS_ELIMINATED = 0.60
MAX_DEGRADED_QUERIES = 1
DEGRADED_MEDIAN = 0.10
SIGNIFICANCE = 0.01
FLOOR_MS = 1.0
METRICS = ("client", "explain")
PLAN_MODE_CHOICES = ("custom", "generic", "both")


@dataclass
class QueryChange:
    query: str
    name: str
    param_class: str
    plan_mode: str
    pre_p50_ms: float
    post_p50_ms: float
    pre_p50_ci: list[float]
    post_p50_ci: list[float]
    pre_p95_ms: float
    post_p95_ms: float
    p_slower: float  # one-sided Mann-Whitney p-value that post is slower than pre
    improvement: float  # 1 - post/pre on p50
    speedup: float  # pre/post on p50
    sorts_before: int
    sorts_after: int
    indexes_adopted: list[str]
    seq_scans_before: list[str]
    seq_scans_after: list[str]
    degraded: bool
    unexplained_slowdown: bool  # client slower beyond noise, server time not: not counted
    plan_change: str
    other_metric_p50: list[float]  # the other metric's pre and post p50, for the report


@dataclass
class Comparison:
    metric: str
    plan_mode: str
    floor_ms: float
    decision: str
    reasons: list[str]
    average_improvement: float  # 1 - geometric mean of post/pre p50 ratios: decides
    arithmetic_improvement: float  # mean of (1 - post/pre): reported only
    sorts_before: int
    sorts_after: int
    sorts_eliminated_share: float | None  # None: no non-trivial sort before (not applicable)
    degraded_queries: list[str]
    changes: list[QueryChange] = field(default_factory=list)
    mitigations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # plan-mode and metric disagreements
    expectations: list[dict[str, Any]] = field(default_factory=list)
    new_indexes: list[dict[str, Any]] = field(default_factory=list)  # size, build time, gain
    # targeted decisions and production's weights (synthgen.verify.targets)
    targets: list[str] = field(default_factory=list)
    min_improvement: float = MIN_TARGET_IMPROVEMENT
    weighted_improvement: float | None = None  # by share of production's time: reported only
    thresholds: str = ""
    queries: list[dict[str, Any]] = field(default_factory=list)  # per query, with its weights

    @property
    def go(self) -> bool:
        return self.decision == GO

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _identity_problems(pre: dict[str, Any], post: dict[str, Any]) -> list[str]:
    problems = []
    if pre.get("dataset_sha256") != post.get("dataset_sha256"):
        problems.append("the baselines come from different datasets (dataset_sha256 differs)")
    if pre.get("server", {}).get("identity") != post.get("server", {}).get("identity"):
        problems.append("the baselines come from different servers")
    if pre.get("schema") != post.get("schema"):
        problems.append(
            f"the baselines use different schemas ({pre.get('schema')} vs {post.get('schema')})"
        )
    return problems


def _indexes(summary: dict[str, Any]) -> set[str]:
    return {name for names in summary.get("indexes_used", {}).values() for name in names}


def _describe(pre: dict[str, Any], post: dict[str, Any], adopted: list[str]) -> str:
    parts = []
    if pre["sort_count"] and not post["sort_count"]:
        parts.append(f"Sort removed ({pre['sort_count']})")
    elif post["sort_count"]:
        parts.append(f"still {post['sort_count']} Sort")
    if adopted:
        parts.append("now uses " + ", ".join(adopted))
    gone = sorted(set(pre["large_seq_scans"]) - set(post["large_seq_scans"]))
    if gone:
        parts.append("no more Seq Scan on " + ", ".join(gone))
    return "; ".join(parts) or "plan unchanged"


def result_key(result: dict[str, Any]) -> tuple[str, str, str]:
    return (result["query"], result["class"], result.get("plan_mode", "implicit"))


def compare_baselines(
    pre: dict[str, Any],
    post: dict[str, Any],
    metric: str = "client",
    force: bool = False,
    plan_mode: str = "both",
    floor_ms: float = FLOOR_MS,
    allow_physical_change: bool = False,
    builds: dict[str, float] | None = None,
    targets: list[str] | None = None,
    min_improvement: float = MIN_TARGET_IMPROVEMENT,
) -> Comparison:
    """Pair results by (query, parameter class, plan mode) and decide (by `targets`, when
    given: see synthgen.verify.targets). `builds`: the build seconds of the new indexes, when
    recorded."""
    if metric not in METRICS:
        raise VerifyError(f"--metric: {metric!r} is not one of {', '.join(METRICS)}")
    if plan_mode not in PLAN_MODE_CHOICES:
        raise VerifyError(f"--plan-mode: {plan_mode!r} is not one of custom, generic, both")
    if floor_ms < 0:
        raise VerifyError(f"--floor-ms must be >= 0 (got {floor_ms})")
    problems = _identity_problems(pre, post)
    if problems and not force:
        raise VerifyError(f"refusing to compare: {problems[0]} (use --force to compare anyway)")
    physical = physical_problems(pre, post)
    if physical and not allow_physical_change:
        raise VerifyError(
            f"refusing to compare: pre and post were measured on tables of different physical "
            f"order ({'; '.join(physical)}); reload, or pass --allow-physical-change"
        )
    post_by_key = {result_key(r): r for r in post["results"]}
    changes: list[QueryChange] = []
    for r in pre["results"]:
        mode = r.get("plan_mode", "implicit")
        if plan_mode != "both" and mode != plan_mode:
            continue
        other = post_by_key.get(result_key(r))
        if other is None:
            raise VerifyError(
                f"post baseline has no result for {r['query']} ({r['class']}, {mode} plan)"
            )
        changes.append(_change(r, other, metric, floor_ms))
    if not changes:
        raise VerifyError(f"--plan-mode {plan_mode}: the pre baseline measured no such plans")
    result = _decide(changes, metric, plan_mode, floor_ms)
    _per_query(result, pre.get("production") or {}, targets or [], min_improvement)
    result.warnings = [f"physical order differs: {p}" for p in physical] + settled_warnings(
        pre, post
    )
    result.findings = (
        [
            f"{c.name} ({c.param_class}, {c.plan_mode} plan): client p50 {c.pre_p50_ms:.2f} → "
            f"{c.post_p50_ms:.2f} ms (p = {c.p_slower:.1g}) but server time "
            f"{c.other_metric_p50[0]:.3f} → {c.other_metric_p50[1]:.3f} ms: the driver or the "
            "machine, not the plan; not counted as degraded"
            for c in changes
            if c.unexplained_slowdown
        ]
        + mode_findings(pre, floor_ms)
        + mode_findings(post, floor_ms)
    )
    # the brief's expectations are about the shipped Q1..Q5; captured files reuse the keys
    result.expectations = [] if pre.get("production") else expectations(changes)
    result.new_indexes = new_index_gains(changes, pre, post, builds)
    if not result.go:
        result.mitigations = mitigations(changes, post, pre)
    return result


def _per_query(
    result: Comparison, production: dict[str, Any], targets: list[str], minimum: float
) -> None:
    """Per-query rows with production's weights; with targets, the targeted decision."""
    if not 0 <= minimum < 1:
        raise VerifyError(f"--min-improvement must be in [0, 1) (got {minimum})")
    result.queries = query_summary(result.changes, production, targets)
    ratios = query_ratios(result.changes)
    result.weighted_improvement = weighted_improvement(
        ratios, time_shares(production, sorted(ratios))
    )
    result.targets, result.min_improvement = targets, minimum
    rule = (
        f"average improvement > {MIN_AVERAGE_IMPROVEMENT:.0%}, sorts eliminated > "
        f"{MIN_SORTS_ELIMINATED:.0%}, at most {MAX_DEGRADED_QUERIES} query degraded"
    )
    result.thresholds = thresholds_line(targets, minimum, result.floor_ms, rule)
    if not targets:
        return
    reasons = targeted_reasons(result.queries, targets, minimum, result.floor_ms)
    named = ", ".join(t.upper() for t in targets)
    verdict = Verdict.of(
        reasons,
        lambda: f"every targeted query ({named}) improved by at least {minimum:.0%}; none degraded",
    )
    result.decision, result.reasons = verdict.decision, verdict.reasons


def _samples(result: dict[str, Any], metric: str) -> list[float]:
    samples = result.get(f"{metric}_samples")
    if not samples:
        raise VerifyError(
            f"baseline result {result['query']} ({result['class']}) has no {metric} samples "
            "(measured by an older synthgen): measure it again"
        )
    return [float(x) for x in samples]


def _change(pre: dict[str, Any], post: dict[str, Any], metric: str, floor_ms: float) -> QueryChange:
    a, b = pre[f"{metric}_ms"], post[f"{metric}_ms"]
    other = "explain" if metric == "client" else "client"
    p_slower = mann_whitney_greater(_samples(post, metric), _samples(pre, metric))
    improvement = 1.0 - b["p50"] / a["p50"] if a["p50"] > 0 else 0.0
    adopted = sorted(_indexes(post["plan"]) - _indexes(pre["plan"]))
    slower = (
        p_slower < SIGNIFICANCE
        and b["p50"] > a["p50"] * (1 + DEGRADED_MEDIAN)
        and b["p50"] - a["p50"] > floor_ms
    )
    # client time decides, EXPLAIN explains: a client slowdown the server's own time does not
    # show (same plan work) is the driver or the machine, reported but not counted
    server = pre[f"{other}_ms"]["p50"], post[f"{other}_ms"]["p50"]
    explained = metric == "explain" or server[1] > server[0] * (1 + DEGRADED_MEDIAN)
    return QueryChange(
        query=pre["query"],
        name=pre["name"],
        param_class=pre["class"],
        plan_mode=pre.get("plan_mode", "implicit"),
        pre_p50_ms=a["p50"],
        post_p50_ms=b["p50"],
        pre_p50_ci=list(a.get("p50_ci", [a["p50"], a["p50"]])),
        post_p50_ci=list(b.get("p50_ci", [b["p50"], b["p50"]])),
        pre_p95_ms=a["p95"],
        post_p95_ms=b["p95"],
        p_slower=p_slower,
        improvement=improvement,
        speedup=a["p50"] / b["p50"] if b["p50"] > 0 else float("inf"),
        sorts_before=pre["plan"]["sort_count"],
        sorts_after=post["plan"]["sort_count"],
        indexes_adopted=adopted,
        seq_scans_before=pre["plan"]["large_seq_scans"],
        seq_scans_after=post["plan"]["large_seq_scans"],
        degraded=slower and explained,
        unexplained_slowdown=slower and not explained,
        plan_change=_describe(pre["plan"], post["plan"], adopted),
        other_metric_p50=[pre[f"{other}_ms"]["p50"], post[f"{other}_ms"]["p50"]],
    )


def geometric_improvement(changes: list[QueryChange]) -> float:
    """1 - the geometric mean of the post/pre p50 ratios.

    Ratios average geometrically: a 2x slowdown and a 2x speedup cancel out. The arithmetic mean
    of (1 - post/pre) is bounded above by 100 % and unbounded below, so the driver's jitter on a
    sub-millisecond query (0.6 -> 1.9 ms: -217 %) outweighs a real 100x gain (+99 %).
    """
    ratios = [
        c.post_p50_ms / c.pre_p50_ms for c in changes if c.pre_p50_ms > 0 and c.post_p50_ms > 0
    ]
    if not ratios:
        return 0.0
    return 1.0 - math.exp(sum(math.log(r) for r in ratios) / len(ratios))


def _decide(changes: list[QueryChange], metric: str, plan_mode: str, floor_ms: float) -> Comparison:
    average = geometric_improvement(changes)
    arithmetic = sum(c.improvement for c in changes) / len(changes)
    sorts_before = sum(c.sorts_before for c in changes)
    sorts_after = sum(c.sorts_after for c in changes)
    removed = sum(max(0, c.sorts_before - c.sorts_after) for c in changes)
    share = removed / sorts_before if sorts_before else None
    degraded = sorted({c.query for c in changes if c.degraded})
    reasons = []
    if average <= MIN_AVERAGE_IMPROVEMENT:
        reasons.append(
            f"average improvement {average:.0%} is not above {MIN_AVERAGE_IMPROVEMENT:.0%}"
        )
    if share is not None and share <= MIN_SORTS_ELIMINATED:
        reasons.append(
            f"{share:.0%} of the {sorts_before} sorts were eliminated "
            f"(needs more than {MIN_SORTS_ELIMINATED:.0%})"
        )
    if len(degraded) > MAX_DEGRADED_QUERIES:
        reasons.append(
            f"{len(degraded)} queries degraded beyond noise and the {floor_ms:g} ms floor "
            f"({', '.join(degraded)}); at most {MAX_DEGRADED_QUERIES} allowed"
        )
    sorts = (
        f"{share:.0%} of sorts eliminated"
        if share is not None
        else "sorts eliminated: not applicable (no non-trivial sort before)"
    )
    verdict = Verdict.of(
        reasons, lambda: f"average improvement {average:.0%}, {sorts}, {len(degraded)} degraded"
    )
    return Comparison(
        metric=metric,
        plan_mode=plan_mode,
        floor_ms=floor_ms,
        decision=verdict.decision,
        reasons=verdict.reasons,
        average_improvement=average,
        arithmetic_improvement=arithmetic,
        sorts_before=sorts_before,
        sorts_after=sorts_after,
        sorts_eliminated_share=share,
        degraded_queries=degraded,
        changes=changes,
    )
