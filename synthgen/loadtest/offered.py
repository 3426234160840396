"""`loadtest compare` on open-loop results: latency at equal offered load, capacity on its own.

A closed loop of clients offers more load to a faster server (each client sends its next
transaction as soon as the last returns), so a per-query latency compared across such runs
compares two different experiments. Here both runs were offered the same rates (pgbench -R), so
each query's p95 before and after is measured under the same load; the capacity (highest
throughput with every p95 under its SLO, the pre run's SLOs for both) is judged apart.
"""

from __future__ import annotations

from typing import Any

from synthgen.errors import LoadTestError
from synthgen.loadtest.capacity import MIN_SAMPLES, find_capacity
from synthgen.verdict import Verdict

CAPACITY_TOLERANCE = 0.10  # a short step's throughput moves by this much run to run
NOISE_FLOOR_MS = 2.0  # a p95 growth smaller than this is the scheduler, not the change
# ... nor one smaller than this share of the query's SLO: immaterial to its users, and within
# the CPU queue's noise on a shared machine (a 1 ms write's p95 moves by 4 ms there)
SLO_SHARE_FLOOR = 0.10
METRICS = ("p50_ms", "p95_ms", "p99_ms", "tps")


def _rate_name(step: dict[str, Any]) -> str:
    share = f" ({step['fraction']:.0%} of before)" if step.get("fraction") else ""
    return f"{step['offered_tps']:g} tx/s offered{share}"


def _equal_rates(pre: dict[str, Any], post: dict[str, Any]) -> list[float]:
    a = [float(r["offered_tps"]) for r in pre["rates"]]
    b = [float(r["offered_tps"]) for r in post["rates"]]
    if a != b or not a:
        raise LoadTestError(
            f"PRE was offered {a or 'no rates'} tx/s and POST {b or 'no rates'}: a comparison "
            "needs equal offered rates (run POST with --baseline PRE)"
        )
    return a


def _row(key: str, kind: str, pre: dict[str, Any], post: dict[str, Any]) -> dict[str, Any]:
    a, b = pre["queries"][key], post["queries"][key]
    row: dict[str, Any] = {
        "query": key,
        "kind": kind,
        "offered_tps": pre["offered_tps"],
        "fraction": pre.get("fraction"),
        "pre_transactions": a.get("transactions", 0),
        "post_transactions": b.get("transactions", 0),
    }
    for metric in METRICS:
        row[f"pre_{metric}"], row[f"post_{metric}"] = a.get(metric, 0.0), b.get(metric, 0.0)
        change = row[f"post_{metric}"] / row[f"pre_{metric}"] - 1 if row[f"pre_{metric}"] else 0.0
        row[f"change_{metric}"] = change
    row["judged"] = min(row["pre_transactions"], row["post_transactions"]) >= MIN_SAMPLES
    return row


def _write_alone_rows(pre: dict[str, Any], post: dict[str, Any]) -> list[dict[str, Any]]:
    """Each write offered alone at the same rate before and after (older results have none)."""
    after = {w["script"]: w for w in post.get("write_steps", [])}
    rows = []
    for a in pre.get("write_steps", []):
        b = after.get(a["script"])
        if b is None:
            continue
        if b["offered_tps"] != a["offered_tps"]:
            raise LoadTestError(
                f"PRE offered {a['script']} alone at {a['offered_tps']:g} tx/s and POST at "
                f"{b['offered_tps']:g}: run POST with --baseline PRE"
            )
        rows.append({**_row(a["script"], "write", a, b), "alone": True})
    return rows


def _fallback_reason(row: dict[str, Any], pre: dict[str, Any], budget: float) -> str:
    key = row["query"]
    where = (
        f"at the offered rates together ({_rates_text(pre)} tx/s)"
        if row.get("pooled")
        else f"at {row['offered_tps']:g} tx/s of {key} alone offered"
    )
    return (
        f"{where}, {'write ' if row['kind'] == 'write' else ''}{key} p95 "
        f"{row['pre_p95_ms']:.1f} → {row['post_p95_ms']:.1f} ms ({row['change_p95_ms']:+.0%}), "
        f"over the {budget:.0%} budget"
    )


def _rates_text(result: dict[str, Any]) -> str:
    return ", ".join(f"{r['offered_tps']:g}" for r in result["rates"])


def _pooled_row(
    key: str, kind: str, pre: dict[str, Any], post: dict[str, Any]
) -> dict[str, Any] | None:
    """The query over every rate step together (its rates and seconds equal on both sides)."""
    a, b = pre.get("rates_pooled", {}).get(key), post.get("rates_pooled", {}).get(key)
    if not a or not b:
        return None
    row = _row(key, kind, {"offered_tps": 0.0, "queries": {key: a}}, {"queries": {key: b}})
    row.update(offered_tps=None, fraction=None, pooled=True)
    return row


def _slower(row: dict[str, Any], budget: float) -> bool:
    grew = row["post_p95_ms"] - row["pre_p95_ms"]
    floor = row.get("floor_ms", NOISE_FLOOR_MS)
    return row["judged"] and row["change_p95_ms"] > budget and grew > floor


def _capacity(pre: dict[str, Any], post: dict[str, Any]) -> dict[str, Any]:
    """Both capacities under the pre run's SLOs (the SLOs held equal)."""
    before = find_capacity(pre["steps"], pre["slo"])
    after = find_capacity(post["steps"], pre["slo"])
    change = after["tps"] / before["tps"] - 1 if before["tps"] else 0.0
    fell = change < -CAPACITY_TOLERANCE
    return {"pre": before, "post": after, "change": change, "fell": fell}


def compare_offered(pre: dict[str, Any], post: dict[str, Any], budget: float) -> dict[str, Any]:
    """Per query and offered rate: pre, post and change; the capacity; the decision."""
    _equal_rates(pre, post)
    kinds = {k: v.get("kind", "read") for k, v in pre["scripts"].items()}
    floors = {
        k: max(NOISE_FLOOR_MS, SLO_SHARE_FLOOR * float(v["ms"])) for k, v in pre["slo"].items()
    }
    rows = [
        _row(key, kinds.get(key, "read"), a, b)
        for a, b in zip(pre["rates"], post["rates"], strict=True)
        for key in sorted(set(a["queries"]) & set(b["queries"]))
    ]
    for row in rows:
        row["floor_ms"] = floors.get(row["query"], NOISE_FLOOR_MS)
    reasons = [
        f"at {_rate_name(r)}, {'write ' if r['kind'] == 'write' else ''}{r['query']} p95 "
        f"{r['pre_p95_ms']:.1f} → {r['post_p95_ms']:.1f} ms ({r['change_p95_ms']:+.0%}), "
        f"over the {budget:.0%} budget"
        for r in rows
        if _slower(r, budget)
    ]
    # a query too rare to judge at any one rate: over every rate together, then (a write)
    # offered alone at an equal rate; never left unjudged without saying so
    alone = {r["query"]: r for r in _write_alone_rows(pre, post)}
    judged = {r["query"] for r in rows if r["judged"]}
    fallback: list[dict[str, Any]] = []
    for key in sorted({r["query"] for r in rows} - judged):
        pooled = _pooled_row(key, kinds.get(key, "read"), pre, post)
        found = pooled if pooled is not None and pooled["judged"] else alone.get(key)
        if found is not None and found["judged"]:
            row = found
            row["floor_ms"] = floors.get(key, NOISE_FLOOR_MS)
            fallback.append(row)
            if _slower(row, budget):
                reasons.append(_fallback_reason(row, pre, budget))
            continue
        most = max(min(r["pre_transactions"], r["post_transactions"]) for r in rows
                   if r["query"] == key)  # fmt: skip
        reasons.append(
            f"{key}: too few transactions to judge at any offered rate (at most {most}, "
            f"{MIN_SAMPLES} needed each side); run longer (--duration) or weigh it more (--mix)"
        )
    capacity = _capacity(pre, post)
    if capacity["fell"]:
        reasons.append(
            f"capacity fell: {capacity['pre']['tps']:.1f} → {capacity['post']['tps']:.1f} tx/s "
            f"({capacity['change']:+.0%}, more than the {CAPACITY_TOLERANCE:.0%} tolerance) "
            f"under the same SLOs; after: {capacity['post']['reason']}"
        )
    verdict = Verdict.of(reasons, lambda: _go_reason(rows, capacity, budget))
    return {
        "kind": "synthgen-loadtest-compare",
        "mode": "offered",
        "decision": verdict.decision,
        "rule": rule_text(budget),
        "write_budget": budget,
        "reasons": verdict.reasons,
        "capacity": capacity,
        "held_equal": _held_equal(pre),
        "p95_change_by_query": _worst(rows + fallback),
        "write_overhead": _write_overhead(rows + fallback),
        "rates": [r["offered_tps"] for r in pre["rates"]],
        "pre": {"label": pre["label"], "pool": pre["pool"], "indexes": pre["indexes"]},
        "post": {"label": post["label"], "pool": post["pool"], "indexes": post["indexes"]},
        "rows": rows,
        # queries too rare at each rate: over all rates together, or a write alone
        "pooled_rows": [r for r in fallback if r.get("pooled")],
        "write_rows": [r for r in fallback if r.get("alone")],
    }


def rule_text(budget: float) -> str:
    """The decision rule, as the report and the docs state it."""
    return (
        "Open loop, at equal offered load: GO when, at every offered rate (the same before and "
        f"after), no query's p95 grows by more than {budget:.0%} (and by more than "
        f"{NOISE_FLOOR_MS:g} ms and {SLO_SHARE_FLOOR:.0%} of its SLO; judged where each side "
        f"ran at least {MIN_SAMPLES} of its "
        "transactions, over all rates together for a query too rare at each), writes included, "
        "and the capacity (the highest throughput with every "
        f"p95 under its SLO, the SLOs of before) does not fall by more than "
        f"{CAPACITY_TOLERANCE:.0%}"
    )


def _go_reason(rows: list[dict[str, Any]], capacity: dict[str, Any], budget: float) -> str:
    top = max(r["offered_tps"] for r in rows)
    at_top = ", ".join(
        f"{r['query']} {r['pre_p95_ms']:.1f} → {r['post_p95_ms']:.1f} ms"
        for r in rows
        if r["offered_tps"] == top
    )
    return (
        f"no query slower beyond the {budget:.0%} budget at any equal offered rate; at {top:g} "
        f"tx/s p95 {at_top}; capacity {capacity['pre']['tps']:.1f} → "
        f"{capacity['post']['tps']:.1f} tx/s ({capacity['change']:+.0%})"
    )


def _held_equal(pre: dict[str, Any]) -> dict[str, Any]:
    return {
        "offered_tps": [r["offered_tps"] for r in pre["rates"]],
        "clients": pre.get("rate_clients"),
        "seconds": [r["duration_s"] for r in pre["rates"] if "duration_s" in r],
        "mix": pre.get("mix"),
        "slo_ms": {k: v["ms"] for k, v in pre["slo"].items()},
    }


def _worst(rows: list[dict[str, Any]]) -> dict[str, float]:
    worst: dict[str, float] = {}
    for r in rows:
        if r["judged"]:
            worst[r["query"]] = max(worst.get(r["query"], -1.0), r["change_p95_ms"])
    return worst


def _write_overhead(rows: list[dict[str, Any]]) -> dict[str, Any]:
    writes = sorted({r["query"] for r in rows if r["kind"] == "write"})
    return {
        key: {
            "p95_change": _worst([r for r in rows if r["query"] == key]).get(key),
            "by_rate": [
                {
                    "offered_tps": r["offered_tps"],
                    "p50_change": r["change_p50_ms"],
                    "p95_change": r["change_p95_ms"],
                    "judged": r["judged"],
                }
                for r in rows
                if r["query"] == key
            ],
        }
        for key in writes
    }
