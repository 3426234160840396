"""`indexes prove`'s read rows: the measured gain beside the planner's estimate, where the planner
was wrong, and the gain weighted by production's time when the query files carry captured numbers.

The planner was wrong where its hypothetical plan promised a gain of `min_gain` that the
client-timed p50 did not show, or the reverse. The production-weighted gain is
1 - exp(sum of share_q * log ratio_q): share_q is the query's share of production's time, ratio_q
the geometric mean of its post/pre p50; a query the index was not timed on counts unchanged.
"""

from __future__ import annotations

from typing import Any

from synthgen.verify.production import production_weights, time_shares
from synthgen.verify.queries import Query
from synthgen.verify.targets import geometric_ratios, weighted_improvement

WRONG_EXPECTED = "estimated a gain, measured none"
WRONG_MISSED = "measured a gain the planner did not estimate"


def production_shares(queries: list[Query]) -> dict[str, float]:
    """query key -> its share of production's time among `queries` (empty: unweighted, some
    file carries no captured numbers)."""
    weights = production_weights({q.key: q.path for q in queries})
    return time_shares(weights, sorted(q.key for q in queries))


def planner_verdict(estimate: dict[str, Any] | None, measured: float, min_gain: float) -> str:
    """'right', WRONG_EXPECTED or WRONG_MISSED ('' without an estimate)."""
    if estimate is None:
        return ""
    expected = bool(estimate.get("uses_index", True)) and (
        bool(estimate.get("sort_removed")) or float(estimate["estimated_gain"]) >= min_gain
    )
    if expected == (measured >= min_gain):
        return "right"
    return WRONG_EXPECTED if expected else WRONG_MISSED


def read_rows(
    gains: dict[tuple[str, str], float],
    before: dict[tuple[str, str], float],
    after: dict[tuple[str, str], float],
    estimates: dict[tuple[str, str], dict[str, Any]],
    shares: dict[str, float],
    min_gain: float,
) -> list[dict[str, Any]]:
    """One row per measured query x class: p50 before and after, measured and estimated gain,
    whether the planner was right, the query's share of production's time (None: unweighted)."""
    rows = []
    for (q, c), g in sorted(gains.items()):
        estimate = estimates.get((q, c))
        rows.append(
            {
                "query": q,
                "class": c,
                "p50_before_ms": round(before[(q, c)], 4),
                "p50_after_ms": round(after[(q, c)], 4),
                "measured_gain": round(g, 4),
                "estimated_gain": estimate["estimated_gain"] if estimate else None,
                "sort_removed": bool(estimate["sort_removed"]) if estimate else None,
                "uses_index": bool(estimate.get("uses_index", True)) if estimate else None,
                "suggested_for": estimate is not None,
                "planner": planner_verdict(estimate, g, min_gain),
                "share_time": shares.get(q),
            }
        )
    return rows


def weighted_gain(reads: list[dict[str, Any]], shares: dict[str, float]) -> float | None:
    """The index's read gain weighted by production's time (module docstring); None without
    captured weights."""
    if not shares:
        return None
    ratios = geometric_ratios((r["query"], r["p50_before_ms"], r["p50_after_ms"]) for r in reads)
    gain = weighted_improvement({q: ratios.get(q, 1.0) for q in shares}, shares)
    return None if gain is None else round(gain, 4)


def weights_line(shares: dict[str, float]) -> str:
    """What the read gains are weighted by, for prove.txt and the report."""
    if not shares:
        return (
            "read gains unweighted: the query files carry no production numbers "
            "(capture them with synthgen sample statements)"
        )
    parts = ", ".join(f"{q.upper()} {s:.0%}" for q, s in sorted(shares.items()))
    return (
        "read gains also weighted by production's time (captured statements): "
        f"{parts}; a query an index does not serve counts unchanged"
    )
