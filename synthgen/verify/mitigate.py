"""Mitigations for a NO-GO, derived from the post plan *and* the catalog: an index that exists
but was not used is said to exist (with the planner's row estimates and the cost of the plan it
chose vs the plan it would take with sequential scans off), not "add an index"."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthgen.verify.compare import QueryChange

_KEYS = re.compile(r"USING \w+ \((.*?)\)(?: INCLUDE| WHERE|$)")
_IDENT = re.compile(r'"([^"]+)"|\b([a-z_][a-z0-9_]*)\b')
LOW_IMPROVEMENT = 0.30


def index_key_columns(definition: str) -> list[str]:
    """Key columns of a `pg_indexes.indexdef` (quoted or plain), INCLUDE and WHERE left out."""
    match = _KEYS.search(definition)
    if not match:
        return []
    columns = []
    for item in match[1].split(","):
        ident = _IDENT.search(item.strip())
        if ident:
            columns.append(ident[1] or ident[2])
    return columns


def matching_indexes(post: dict[str, Any], table: str, sql: str) -> list[dict[str, str]]:
    """Indexes on `table` whose leading key column the query's SQL names."""
    out = []
    for index in post.get("indexes", []):
        if index["table"] != table:
            continue
        keys = index_key_columns(index["definition"])
        if keys and (f'"{keys[0]}"' in sql or re.search(rf"\b{re.escape(keys[0])}\b", sql)):
            out.append(index)
    return out


def _unused_index(
    label: str, table: str, found: list[dict[str, str]], result: dict[str, Any]
) -> str:
    names = ", ".join(i["name"] for i in found)
    plan = result.get("plan", {})
    estimates = "; ".join(plan.get("estimate_errors", [])) or "row estimates within 10x"
    forced = result.get("forced_plan")
    if forced:
        used = ", ".join(n for names_ in forced["forced_indexes"].values() for n in names_)
        costs = (
            f"chosen plan cost {forced['chosen_cost']:,.0f}; with {forced['setting']} the "
            f"planner takes {used or 'no index'} at cost {forced['forced_cost']:,.0f}"
        )
    else:
        costs = "no forced-plan EXPLAIN recorded"
    return (
        f"{label} scans {table} sequentially although {names} exists and matches its filter: "
        f"the planner chose not to use it ({estimates}; {costs}). Fix the estimate, not the "
        "index: ANALYZE, raise the column's statistics target, or rewrite the query so the "
        "misestimated join side is filtered first"
    )


def mitigations(changes: list[QueryChange], post: dict[str, Any]) -> list[str]:
    """One concrete suggestion per failing query, class and plan mode."""
    by_key = {(r["query"], r["class"], r.get("plan_mode", "implicit")): r for r in post["results"]}
    sql_of = post.get("queries", {})
    out: list[str] = []
    for c in changes:
        label = f"{c.name} ({c.param_class}, {c.plan_mode} plan)"
        result = by_key.get((c.query, c.param_class, c.plan_mode), {})
        sql = sql_of.get(c.query, "")
        if c.sorts_after:
            out.append(
                f"{label} still sorts: its ORDER BY does not match any index; add an index "
                "on its filter column(s) followed by its ORDER BY column(s), same direction"
            )
        for table in c.seq_scans_after:
            found = matching_indexes(post, table, sql)
            if found:
                out.append(_unused_index(label, table, found, result))
            else:
                out.append(
                    f"{label} still scans {table} sequentially: no index on {table} leads "
                    "with a column the query filters on; index the column it filters on"
                )
        if c.degraded:
            out.append(
                f"{label} got slower beyond noise (p50 {c.pre_p50_ms:.2f} -> "
                f"{c.post_p50_ms:.2f} ms, 95 % intervals {_ci(c.pre_p50_ci)} -> "
                f"{_ci(c.post_p50_ci)}, p = {c.p_slower:.1g}; {c.plan_change}): compare the "
                "plans (synthgen verify plans PRE POST) and test with SET enable_seqscan = off"
            )
        if c.improvement <= LOW_IMPROVEMENT and not (
            c.sorts_after or c.seq_scans_after or c.degraded
        ):
            out.append(
                f"{label} improved only {c.improvement:.0%} ({c.plan_change}): the new "
                "indexes do not serve it; check that one matches its WHERE and ORDER BY"
            )
    return out


def _ci(bounds: list[float]) -> str:
    return f"[{bounds[0]:.2f}, {bounds[1]:.2f}]"
