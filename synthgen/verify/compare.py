"""Compare a pre and a post baseline into GO / NO-GO, with a concrete mitigation per failing query.

GO when the average latency improvement is above 30 %, more than 60 % of the sorts present
before are gone, and at most one query degraded (p95 worse by more than 10 %, and by more than
a small absolute noise floor so that sub-millisecond jitter is not called a regression).

The decision uses the server's execution time (EXPLAIN ANALYZE) by default: client-timed runs
through the driver carry about a millisecond of protocol overhead whose jitter on a shared
machine exceeds the indexed queries' own time. Both are in every baseline and report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from synthgen.errors import VerifyError

MIN_AVERAGE_IMPROVEMENT = 0.30
MIN_SORTS_ELIMINATED = 0.60
MAX_DEGRADED_QUERIES = 1
DEGRADED_P95 = 0.10
NOISE_FLOOR_MS = 0.1
METRICS = ("explain", "client")


@dataclass
class QueryChange:
    query: str
    name: str
    param_class: str
    pre_p50_ms: float
    post_p50_ms: float
    pre_p95_ms: float
    post_p95_ms: float
    improvement: float  # 1 - post/pre on p50
    speedup: float  # pre/post on p50
    sorts_before: int
    sorts_after: int
    indexes_adopted: list[str]
    seq_scans_before: list[str]
    seq_scans_after: list[str]
    degraded: bool
    plan_change: str


@dataclass
class Comparison:
    metric: str
    decision: str
    reasons: list[str]
    average_improvement: float
    sorts_before: int
    sorts_after: int
    sorts_eliminated_share: float
    degraded_queries: list[str]
    changes: list[QueryChange] = field(default_factory=list)
    mitigations: list[str] = field(default_factory=list)

    @property
    def go(self) -> bool:
        return self.decision == "GO"

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


def compare_baselines(
    pre: dict[str, Any], post: dict[str, Any], metric: str = "explain", force: bool = False
) -> Comparison:
    """Pair results by (query, parameter class) and decide."""
    if metric not in METRICS:
        raise VerifyError(f"--metric: {metric!r} is not one of {', '.join(METRICS)}")
    problems = _identity_problems(pre, post)
    if problems and not force:
        raise VerifyError(f"refusing to compare: {problems[0]} (use --force to compare anyway)")
    post_by_key = {(r["query"], r["class"]): r for r in post["results"]}
    changes: list[QueryChange] = []
    for r in pre["results"]:
        other = post_by_key.get((r["query"], r["class"]))
        if other is None:
            raise VerifyError(f"post baseline has no result for {r['query']} ({r['class']})")
        changes.append(_change(r, other, metric))
    return _decide(changes, metric)


def _change(pre: dict[str, Any], post: dict[str, Any], metric: str) -> QueryChange:
    a, b = pre[f"{metric}_ms"], post[f"{metric}_ms"]
    improvement = 1.0 - b["p50"] / a["p50"] if a["p50"] > 0 else 0.0
    adopted = sorted(_indexes(post["plan"]) - _indexes(pre["plan"]))
    degraded = (b["p95"] > a["p95"] * (1 + DEGRADED_P95)) and (b["p95"] - a["p95"] > NOISE_FLOOR_MS)
    return QueryChange(
        query=pre["query"],
        name=pre["name"],
        param_class=pre["class"],
        pre_p50_ms=a["p50"],
        post_p50_ms=b["p50"],
        pre_p95_ms=a["p95"],
        post_p95_ms=b["p95"],
        improvement=improvement,
        speedup=a["p50"] / b["p50"] if b["p50"] > 0 else float("inf"),
        sorts_before=pre["plan"]["sort_count"],
        sorts_after=post["plan"]["sort_count"],
        indexes_adopted=adopted,
        seq_scans_before=pre["plan"]["large_seq_scans"],
        seq_scans_after=post["plan"]["large_seq_scans"],
        degraded=degraded,
        plan_change=_describe(pre["plan"], post["plan"], adopted),
    )


def _decide(changes: list[QueryChange], metric: str) -> Comparison:
    average = sum(c.improvement for c in changes) / max(1, len(changes))
    sorts_before = sum(c.sorts_before for c in changes)
    sorts_after = sum(c.sorts_after for c in changes)
    removed = sum(max(0, c.sorts_before - c.sorts_after) for c in changes)
    share = removed / sorts_before if sorts_before else 1.0
    degraded = sorted({c.query for c in changes if c.degraded})
    reasons = []
    if average <= MIN_AVERAGE_IMPROVEMENT:
        reasons.append(
            f"average improvement {average:.0%} is not above {MIN_AVERAGE_IMPROVEMENT:.0%}"
        )
    if share <= MIN_SORTS_ELIMINATED:
        reasons.append(
            f"{share:.0%} of the {sorts_before} sorts were eliminated "
            f"(needs more than {MIN_SORTS_ELIMINATED:.0%})"
        )
    if len(degraded) > MAX_DEGRADED_QUERIES:
        reasons.append(
            f"{len(degraded)} queries degraded ({', '.join(degraded)}); "
            f"at most {MAX_DEGRADED_QUERIES} allowed"
        )
    decision = "NO-GO" if reasons else "GO"
    if not reasons:
        reasons.append(
            f"average improvement {average:.0%}, {share:.0%} of sorts eliminated, "
            f"{len(degraded)} degraded"
        )
    return Comparison(
        metric=metric,
        decision=decision,
        reasons=reasons,
        average_improvement=average,
        sorts_before=sorts_before,
        sorts_after=sorts_after,
        sorts_eliminated_share=share,
        degraded_queries=degraded,
        changes=changes,
        mitigations=mitigations(changes) if decision == "NO-GO" else [],
    )


def mitigations(changes: list[QueryChange]) -> list[str]:
    """One concrete suggestion per failing query and class, from what its post plan shows."""
    out: list[str] = []
    for c in changes:
        label = f"{c.name} ({c.param_class})"
        if c.sorts_after:
            out.append(
                f"{label} still sorts: its ORDER BY does not match any index; add an index "
                "on its filter column(s) followed by its ORDER BY column(s), same direction"
            )
        if c.seq_scans_after:
            out.append(
                f"{label} still scans {', '.join(c.seq_scans_after)} sequentially: no index "
                "matches its WHERE clause; index the column it filters on"
            )
        if c.degraded:
            out.append(
                f"{label} got slower (p95 {c.pre_p95_ms:.2f} -> {c.post_p95_ms:.2f} ms; "
                f"{c.plan_change}): run ANALYZE, compare the plans, and test with "
                "SET enable_seqscan = off to see whether the planner's choice is the problem"
            )
        if c.improvement <= MIN_AVERAGE_IMPROVEMENT and not (
            c.sorts_after or c.seq_scans_after or c.degraded
        ):
            out.append(
                f"{label} improved only {c.improvement:.0%} ({c.plan_change}): the new "
                "indexes do not serve it; check that one matches its WHERE and ORDER BY"
            )
    return out
