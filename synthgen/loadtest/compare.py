"""`synthgen loadtest compare PRE POST`: the change per query, the write overhead of the new
indexes, and a GO/NO-GO.

Open-loop results (the default) are judged at equal offered load (`synthgen.loadtest.offered`).
Closed-loop results (`--closed-loop`) are judged by the closed-loop rule, labelled as such in the
report (docs/loadtest.md): reads better by the geometric mean of p95 ratios and none worse than
the budget, each write's p95 ratio at most 1 + budget.
"""

from __future__ import annotations

import math
from typing import Any

from synthgen.errors import LoadTestError
from synthgen.loadtest.offered import compare_offered
from synthgen.verdict import Verdict

DEFAULT_WRITE_BUDGET = 0.20
METRICS = ("p50_ms", "p95_ms", "p99_ms", "tps")


def _geomean(ratios: list[float]) -> float:
    good = [r for r in ratios if r > 0 and math.isfinite(r)]
    return math.exp(sum(math.log(r) for r in good) / len(good)) if good else 1.0


CLOSED_LOOP_LABEL = (
    "closed loop (each client sends its next transaction when the last returns, so the faster "
    "run was offered more load; not a comparison at equal load)"
)


def compare_results(
    pre: dict[str, Any], post: dict[str, Any], budget: float = DEFAULT_WRITE_BUDGET
) -> dict[str, Any]:
    """Judge POST against PRE: at equal offered load when both are open-loop results, by the
    closed-loop rule (labelled) when both are closed-loop sweeps; mixed modes are refused."""
    modes = (pre.get("mode", "closed-loop"), post.get("mode", "closed-loop"))
    if modes[0] != modes[1]:
        raise LoadTestError(
            f"PRE is a {modes[0]} result and POST a {modes[1]} one: compare like with like"
        )
    if modes[0] == "offered":
        return compare_offered(pre, post, budget)
    return compare_closed_loop(pre, post, budget)


def compare_closed_loop(
    pre: dict[str, Any], post: dict[str, Any], budget: float = DEFAULT_WRITE_BUDGET
) -> dict[str, Any]:
    """Per query and client count: pre, post and change of each metric; the decision."""
    pre_steps = {s["clients"]: s for s in pre["steps"]}
    post_steps = {s["clients"]: s for s in post["steps"]}
    common = sorted(set(pre_steps) & set(post_steps))
    if not common:
        raise LoadTestError("PRE and POST share no client count; run both with the same --clients")
    kinds = {**{k: v["kind"] for k, v in pre["scripts"].items()}}
    rows: list[dict[str, Any]] = []
    p95_ratios: dict[str, list[float]] = {}
    for clients in common:
        for key in sorted(set(pre_steps[clients]["queries"]) & set(post_steps[clients]["queries"])):
            a, b = pre_steps[clients]["queries"][key], post_steps[clients]["queries"][key]
            if not a.get("transactions") or not b.get("transactions"):
                continue
            row: dict[str, Any] = {"query": key, "kind": kinds.get(key, "read"), "clients": clients}
            for metric in METRICS:
                row[f"pre_{metric}"], row[f"post_{metric}"] = a[metric], b[metric]
                row[f"change_{metric}"] = b[metric] / a[metric] - 1 if a[metric] else 0.0
            rows.append(row)
            p95_ratios.setdefault(key, []).append(b["p95_ms"] / a["p95_ms"] if a["p95_ms"] else 1.0)
    per_query = {k: _geomean(v) - 1 for k, v in p95_ratios.items()}
    reads = [k for k in per_query if kinds.get(k, "read") == "read"]
    writes = [k for k in per_query if kinds.get(k) == "write"]
    read_change = _geomean([per_query[k] + 1 for k in reads]) - 1 if reads else 0.0
    reasons: list[str] = []
    if not reads:
        reasons.append("no read query ran in both")
    elif read_change >= 0:
        reasons.append(f"reads not better: p95 {read_change:+.1%} (geometric mean)")
    for key in reads:
        if per_query[key] > budget:
            reasons.append(f"{key} p95 {per_query[key]:+.1%}, worse than the {budget:.0%} budget")
    for key in writes:
        if per_query[key] > budget:
            reasons.append(f"write {key} p95 {per_query[key]:+.1%}, over the {budget:.0%} budget")
    overhead = {
        key: {
            "p95_change": per_query[key],
            "by_clients": [
                {
                    "clients": r["clients"],
                    "p50_change": r["change_p50_ms"],
                    "p95_change": r["change_p95_ms"],
                    "tps_change": r["change_tps"],
                }
                for r in rows
                if r["query"] == key
            ],
        }
        for key in writes
    }
    verdict = Verdict.of(
        reasons,
        lambda: (
            f"reads p95 {read_change:+.1%}; writes within the {budget:.0%} budget"
            + "".join(f", {k} {per_query[k]:+.1%}" for k in writes)
        ),
    )
    return {
        "kind": "synthgen-loadtest-compare",
        "mode": "closed-loop",
        "decision": verdict.decision,
        "rule": (
            f"{CLOSED_LOOP_LABEL}: GO when the read queries' p95 improves (geometric mean of "
            f"post/pre over every client count < 1, none worse than {budget:.0%}) and no "
            f"write's p95 grows by more than {budget:.0%}"
        ),
        "write_budget": budget,
        "reasons": verdict.reasons,
        "read_p95_change": read_change,
        "p95_change_by_query": per_query,
        "write_overhead": overhead,
        "clients": common,
        "pre": {"label": pre["label"], "pool": pre["pool"], "indexes": pre["indexes"]},
        "post": {"label": post["label"], "pool": post["pool"], "indexes": post["indexes"]},
        "rows": rows,
    }
