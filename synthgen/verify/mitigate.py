"""Mitigations for a NO-GO, derived from the post plan *and* the catalog: an index that exists
but was not used is said to exist (with the planner's row estimates and the cost of the plan it
chose vs the plan it would take with sequential scans off), not "add an index"."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from synthgen.verify.duplicates import Finding, parse_index, relate

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


def _replaced(
    c: QueryChange, pre_result: dict[str, Any], pre: dict[str, Any], post: dict[str, Any]
) -> list[tuple[str, str, Finding | None]]:
    """(new index, the existing index the query used before on that table, how they relate)
    for each new index the query moved to."""
    before = {i["name"] for i in pre.get("indexes", [])}
    defs = {i["name"]: i for i in post.get("indexes", [])}
    used_before = pre_result.get("plan", {}).get("indexes_used", {})
    out: list[tuple[str, str, Finding | None]] = []
    for new in (n for n in c.indexes_adopted if n not in before and n in defs):
        table = defs[new]["table"]
        shape = parse_index(defs[new]["definition"], new)
        for old in used_before.get(table, []):
            other = parse_index(defs[old]["definition"], old) if old in defs else None
            out.append((new, old, relate(shape, other) if shape and other else None))
    return out


def _gained(improvement: float) -> str:
    """'improved only 11%', or 'did not improve (89% slower)'."""
    if round(improvement, 2) < 0:
        return f"did not improve ({-improvement:.0%} slower)"
    return f"improved only {improvement:.0%}"


def _no_gain(label: str, c: QueryChange, switches: list[tuple[str, str, Finding | None]]) -> str:
    """A query that moved from an existing index to a new one and gained little: name both."""
    related = [(new, f) for new, _, f in switches if f is not None]
    if related:
        new, finding = related[0]
        return (
            f"{label} {_gained(c.improvement)}: it moved from {finding.existing} to "
            f"{new}, and {finding.text}; drop {new} from the script"
        )
    new, old, _ = switches[0]
    return (
        f"{label} {_gained(c.improvement)} although it now uses {new} instead of "
        f"{old}: {new} reads no less than {old} did for it; drop {new} from the script "
        "unless another query gains from it"
    )


def _duplicate_note(
    c: QueryChange,
    pre_by_key: dict[tuple[str, str, str], dict[str, Any]],
    pre: dict[str, Any] | None,
    post: dict[str, Any],
) -> str:
    """'; it moved from Y to X, and X duplicates Y (...): drop X from the script', or ''."""
    pre_result = pre_by_key.get((c.query, c.param_class, c.plan_mode), {})
    related = [f for _, _, f in (_replaced(c, pre_result, pre, post) if pre else []) if f]
    if not related:
        return ""
    f = related[0]
    return f"; it moved from {f.existing} to {f.new}, and {f.text}: drop {f.new} from the script"


def _low_gain(
    label: str,
    c: QueryChange,
    pre_result: dict[str, Any],
    pre: dict[str, Any] | None,
    post: dict[str, Any],
) -> str:
    """A query that improved too little: the index it left for a new one, the new index it uses,
    or no new index at all."""
    switches = _replaced(c, pre_result, pre, post) if pre else []
    if switches:
        return _no_gain(label, c, switches)
    before = {i["name"] for i in (pre or {}).get("indexes", [])}
    new = [n for n in c.indexes_adopted if pre and n not in before]
    if new:
        return (
            f"{label} {_gained(c.improvement)} although it now uses {', '.join(new)} "
            f"({c.plan_change}): its time lies elsewhere in the plan; keep the index only if "
            "another query gains from it"
        )
    return (
        f"{label} improved only {c.improvement:.0%} ({c.plan_change}): the new "
        "indexes do not serve it; check that one matches its WHERE and ORDER BY"
    )


def mitigations(
    changes: list[QueryChange], post: dict[str, Any], pre: dict[str, Any] | None = None
) -> list[str]:
    """One concrete suggestion per failing query, class and plan mode."""
    by_key = {(r["query"], r["class"], r.get("plan_mode", "implicit")): r for r in post["results"]}
    pre_by_key = {
        (r["query"], r["class"], r.get("plan_mode", "implicit")): r
        for r in (pre or {}).get("results", [])
    }
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
                + _duplicate_note(c, pre_by_key, pre, post)
            )
        if c.improvement <= LOW_IMPROVEMENT and not (
            c.sorts_after or c.seq_scans_after or c.degraded
        ):
            pre_result = pre_by_key.get((c.query, c.param_class, c.plan_mode), {})
            out.append(_low_gain(label, c, pre_result, pre, post))
    return out


def _ci(bounds: list[float]) -> str:
    return f"[{bounds[0]:.2f}, {bounds[1]:.2f}]"
