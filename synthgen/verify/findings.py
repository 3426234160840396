"""What the index gate reports beside its decision: custom vs generic plans, client vs EXPLAIN
disagreements, tables that were not in the same state before and after, tables of different
physical order, and the product brief's expected improvements next to the measured ones."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from synthgen.verify.plan_shapes import PlanShape, shape_differences

if TYPE_CHECKING:
    from synthgen.verify.compare import QueryChange

# A generic plan this many times slower than the custom plan (and by more than the floor) is
# flagged: the application's prepared statements would get it.
GENERIC_SLOW_FACTOR = 2.0
# Client time and EXPLAIN time of the same statement disagreeing by more than this factor (and
# by more than the floor) are reported: the verdict's number is not what the server spent.
DISAGREE_FACTOR = 3.0
ALL_VISIBLE_DRIFT = 0.10
CORRELATION_DRIFT = 0.10
HEAP_BLOCKS_DRIFT = 0.10
# The product brief's figures ("Expected Performance Improvements"), shown as information.
BRIEF_IMPROVEMENT = {"q1": 0.70, "q3": 0.62, "q4": 0.30}
BRIEF_NOTE = (
    "brief expected: p95 65 -> 20 ms at dev (-69 %); at staging Q1 150 -> 45 ms, Q3 100 -> 35 ms"
)


def _shape(result: dict[str, Any]) -> PlanShape | None:
    raw = result.get("shape")
    return PlanShape(**raw) if raw else None


def mode_findings(doc: dict[str, Any], floor_ms: float) -> list[str]:
    """Per query x class of one baseline: the generic plan differs from / is much slower than
    the custom one; client and EXPLAIN medians disagree."""
    label = doc.get("label", "?")
    out: list[str] = []
    by_pair: dict[tuple[str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in doc["results"]:
        by_pair[(r["query"], r["class"])][r.get("plan_mode", "implicit")] = r
        client, server = r["client_ms"]["p50"], r["explain_ms"]["p50"]
        high, low = max(client, server), max(min(client, server), 1e-6)
        if high / low > DISAGREE_FACTOR and high - low > floor_ms:
            out.append(
                f"{label}: {r['name']} ({r['class']}, {r.get('plan_mode', 'implicit')} plan): "
                f"client p50 {client:.2f} ms and EXPLAIN p50 {server:.2f} ms disagree "
                f"({high / low:.1f}x > {DISAGREE_FACTOR:g}x); plan: "
                f"{(r.get('shape') or {}).get('signature', '?')}"
            )
    for (_query, cls), modes in by_pair.items():
        custom, generic = modes.get("custom"), modes.get("generic")
        if not custom or not generic:
            continue
        a, b = _shape(custom), _shape(generic)
        differences = shape_differences(a, b) if a and b else []
        c50, g50 = custom["client_ms"]["p50"], generic["client_ms"]["p50"]
        e_c50, e_g50 = custom["explain_ms"]["p50"], generic["explain_ms"]["p50"]
        # both clocks must see it: client time alone carries the driver's jitter
        slow = (
            g50 > c50 * GENERIC_SLOW_FACTOR
            and g50 - c50 > floor_ms
            and e_g50 > e_c50 * GENERIC_SLOW_FACTOR
        )
        if slow:
            out.append(
                f"{label}: GENERIC PLAN SLOWER — {custom['name']} ({cls}): generic {g50:.2f} ms "
                f"vs custom {c50:.2f} ms client p50 ({g50 / max(c50, 1e-6):.1f}x; EXPLAIN "
                f"{e_g50:.2f} vs {e_c50:.2f} ms); prepared "
                f"statements in the application get the generic plan"
                + (f" ({'; '.join(differences)})" if differences else "")
            )
        elif differences:
            out.append(
                f"{label}: {custom['name']} ({cls}): generic plan differs from custom "
                f"({'; '.join(differences)}); {g50:.2f} vs {c50:.2f} ms client p50"
            )
    return out


def settled_warnings(pre: dict[str, Any], post: dict[str, Any]) -> list[str]:
    """Tables whose all-visible fraction or vacuum history changed between pre and post."""
    a = (pre.get("settled") or {}).get("tables") or {}
    b = (post.get("settled") or {}).get("tables") or {}
    out = []
    for table in sorted(set(a) & set(b)):
        x, y = a[table], b[table]
        if abs(x["all_visible"] - y["all_visible"]) > ALL_VISIBLE_DRIFT:
            out.append(
                f"{table}: all-visible fraction {x['all_visible']:.0%} before, "
                f"{y['all_visible']:.0%} after (index-only scans fetch the heap when low)"
            )
        for key in ("last_vacuum", "last_autovacuum"):
            if x.get(key) != y.get(key):
                out.append(
                    f"{table}: {key.replace('_', ' ')} changed between the baselines "
                    f"({x.get(key) or 'never'} -> {y.get(key) or 'never'})"
                )
    return out


def physical_problems(pre: dict[str, Any], post: dict[str, Any]) -> list[str]:
    """Differences in physical order (pg_stats.correlation, heap blocks per room)."""
    a, b = pre.get("physical"), post.get("physical")
    if not a or not b:
        return []
    out = []
    for column, x in (a.get("correlation") or {}).items():
        y = (b.get("correlation") or {}).get(column)
        if x is not None and y is not None and abs(x - y) > CORRELATION_DRIFT:
            out.append(f"correlation of {column} {x:.2f} before, {y:.2f} after")
    x, y = a.get("heap_blocks_per_room"), b.get("heap_blocks_per_room")
    if x and y and abs(x - y) / max(x, y) > HEAP_BLOCKS_DRIFT:
        out.append(f"heap blocks per room {x:.0f} before, {y:.0f} after")
    return out


def _geometric(items: list[QueryChange]) -> float:
    ratios = [c.post_p50_ms / c.pre_p50_ms for c in items if c.pre_p50_ms > 0 and c.post_p50_ms > 0]
    return 1.0 - math.exp(sum(math.log(r) for r in ratios) / len(ratios)) if ratios else 0.0


def expectations(changes: list[QueryChange]) -> list[dict[str, Any]]:
    """Per query: the brief's expected improvement (when it states one) beside the measured
    (geometric) improvement and the slowest class's p50 before and after."""
    by_query: dict[str, list[QueryChange]] = defaultdict(list)
    for c in changes:
        by_query[c.query].append(c)
    out = []
    for query, items in sorted(by_query.items()):
        worst = max(items, key=lambda c: c.pre_p50_ms)
        out.append(
            {
                "query": query,
                "name": items[0].name,
                "expected_improvement": BRIEF_IMPROVEMENT.get(query),
                "measured_improvement": _geometric(items),
                "pairs": len(items),
                "per_class": {
                    cls: _geometric([c for c in items if c.param_class == cls])
                    for cls in dict.fromkeys(c.param_class for c in items)
                },
                "slowest_class": f"{worst.param_class}, {worst.plan_mode} plan",
                "slowest_pre_p50_ms": worst.pre_p50_ms,
                "slowest_post_p50_ms": worst.post_p50_ms,
            }
        )
    return out
