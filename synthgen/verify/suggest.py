"""`synthgen indexes suggest`: candidate indexes from each query's plan, asked of the planner with
HypoPG per parameter class, and a phase-2 script with its rollback.

Candidates an existing index covers are dropped (duplicates.py); when a query's most complete
candidate is covered, the query is served and nothing is proposed. Otherwise the variant with the
lowest estimated cost wins (a covering one must beat the plain one by COVERING_EDGE), kept when it
removes a sort or cuts the cost by `threshold`; candidates serving several queries are merged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from synthgen.postgres.connect import Connection, execute, fetch_all
from synthgen.schema import quote_ident
from synthgen.verify.baseline import bindings
from synthgen.verify.candidates import Access, Candidate, candidates, read_accesses
from synthgen.verify.duplicates import IndexShape, catalog_indexes, covers, parse_index
from synthgen.verify.hypo import Hypothetical, PlanFacts, Prepared, facts
from synthgen.verify.queries import Query
from synthgen.verify.settle import schema_tables

DEFAULT_THRESHOLD = 0.3  # an estimated cost cut of 30 % (or a removed sort) keeps a candidate
COVERING_EDGE = 0.7  # an INCLUDE variant must cost at most 70 % of the plain one's estimate


@dataclass
class Estimate:
    """One query x class: the planner's cost and sorts without and with the candidate."""

    query: str
    name: str
    cls: str
    before: PlanFacts
    after: PlanFacts
    used: bool

    @property
    def gain(self) -> float:
        return 1 - self.after.cost / self.before.cost if self.before.cost else 0.0

    @property
    def sort_removed(self) -> bool:
        return self.after.sorts < self.before.sorts

    def helps(self, threshold: float) -> bool:
        return self.used and (self.sort_removed or self.gain >= threshold)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "name": self.name,
            "class": self.cls,
            "cost_before": round(self.before.cost, 2),
            "cost_after": round(self.after.cost, 2),
            "estimated_gain": round(self.gain, 4),
            "sort_removed": self.sort_removed,
            "uses_index": self.used,
        }


@dataclass
class Suggestion:
    candidate: Candidate
    name: str = ""
    estimates: list[Estimate] = field(default_factory=list)
    size_bytes: int = 0

    def shape(self) -> IndexShape:
        shape = parse_index(self.candidate.sql(self.name or self.candidate.name()))
        assert shape is not None  # our own statement always parses
        return shape


@dataclass
class _Work:
    query: Query
    prepared: Prepared
    classes: list[tuple[str, list[tuple[Any, str]]]]
    base: dict[str, PlanFacts]
    hypopg: str  # the schema of HypoPG's functions


def _widths(conn: Connection, schema: str) -> dict[str, dict[str, int]]:
    rows = fetch_all(
        conn,
        "SELECT tablename, attname, avg_width FROM pg_stats WHERE schemaname = $1",
        (schema,),
    )
    out: dict[str, dict[str, int]] = {}
    for table, column, width in rows:
        out.setdefault(str(table), {})[str(column)] = int(width)
    return out


def _estimate(conn: Connection, work: _Work, candidate: Candidate) -> tuple[list[Estimate], int]:
    with Hypothetical(conn, "CREATE INDEX " + candidate.definition(), work.hypopg) as hypo:
        out = []
        for cls, values in work.classes:
            after = facts(work.prepared.plan(values))
            used = any(hypo.name in name for name in after.indexes)
            q = work.query
            out.append(Estimate(q.key, q.name, cls, work.base[cls], after, used))
        return out, hypo.size_bytes


def _score(estimates: list[Estimate]) -> float:
    return sum(e.after.cost / e.before.cost if e.before.cost else 1.0 for e in estimates)


def _choose(
    conn: Connection, work: _Work, group: list[Candidate], threshold: float
) -> Suggestion | None:
    """The best candidate of one alias's group that helps at least one class, else None."""
    best: tuple[float, Suggestion] | None = None
    plain: float | None = None
    for candidate in group:
        estimates, size = _estimate(conn, work, candidate)
        if not any(e.helps(threshold) for e in estimates):
            continue
        score = _score(estimates)
        if candidate.kind == "covering":
            if plain is not None and score > COVERING_EDGE * plain:
                continue
        else:
            plain = score if plain is None else min(plain, score)
        if best is None or score < best[0]:
            best = (score, Suggestion(candidate, "", estimates, size))
    return best[1] if best else None


def _served_by(group: list[Candidate], existing: list[IndexShape]) -> IndexShape | None:
    """The existing index that covers the group's first candidate (its order), if any; a full
    index serves a partial candidate's queries too."""
    first = group[0]
    shapes = [
        parse_index(first.sql(first.name())),
        parse_index(Candidate(first.relation, first.keys, (), "", 0, "").sql(first.name())),
    ]
    for shape in existing:
        for wanted in shapes:
            if wanted is not None and covers(shape, wanted, first.equality):
                return shape
    return None


def suggest(
    conn: Connection,
    schema: str,
    queries: list[Query],
    params: dict[str, Any],
    hypopg: str,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, Any]:
    """Suggest phase-2 indexes for `queries` on `schema`; `hypopg` is the schema of HypoPG's
    functions (hypo.require_hypopg creates the extension and says where)."""
    execute(conn, f"SET search_path TO {quote_ident(schema)}, public")
    for table in schema_tables(conn, schema):
        execute(conn, f"ANALYZE {quote_ident(schema)}.{quote_ident(table)}")
    existing = catalog_indexes(conn, schema)
    widths = _widths(conn, schema)
    chosen: list[tuple[Suggestion, _Work]] = []
    served: list[dict[str, Any]] = []
    unhelped: list[dict[str, Any]] = []
    per_query: dict[str, list[tuple[str, list[tuple[Any, str]]]]] = {}
    for query, cls, _classes, values in bindings(queries, params):
        per_query.setdefault(query.key, []).append((cls, values))
    works = []
    for query in queries:
        prepared = Prepared(conn, query).__enter__()
        classes = per_query[query.key]
        base = {cls: facts(prepared.plan(values)) for cls, values in classes}
        work = _Work(query, prepared, classes, base, hypopg)
        works.append(work)
        for access in read_accesses(prepared.structure(classes[0][1])):
            _suggest_access(
                conn, work, access, widths, existing, threshold, chosen, served, unhelped
            )
    try:
        indexes = _merge(conn, chosen, existing, threshold)
    finally:
        for work in works:
            work.prepared.__exit__()
    return {
        "schema": schema,
        "threshold": threshold,
        "indexes": [
            {
                "name": s.name,
                "sql": s.candidate.sql(s.name),
                "table": s.candidate.relation,
                "kind": s.candidate.kind,
                "estimated_size_bytes": s.size_bytes,
                "serves": [e.to_dict() for e in s.estimates if e.helps(threshold)],
                "estimates": [e.to_dict() for e in s.estimates],
            }
            for s in indexes
        ],
        "served_by_existing": served,
        "unhelped": unhelped,
        "parameters": params,
    }


def _suggest_access(
    conn: Connection,
    work: _Work,
    access: Access,
    widths: dict[str, dict[str, int]],
    existing: list[IndexShape],
    threshold: float,
    chosen: list[tuple[Suggestion, _Work]],
    served: list[dict[str, Any]],
    unhelped: list[dict[str, Any]],
) -> None:
    group = candidates(access, widths.get(access.relation, {}))
    if not group:
        return
    where = {"query": work.query.key, "name": work.query.name, "table": access.relation}
    if (shape := _served_by(group, existing)) is not None:
        served.append({**where, "index": shape.name, "wanted": group[0].definition()})
        return
    group = [c for c in group if not any(covers(e, _shape(c), c.equality) for e in existing)]
    found = _choose(conn, work, group, threshold) if group else None
    if found is None:
        unhelped.append({**where, "candidates": [c.definition() for c in group]})
    else:
        chosen.append((found, work))


def _shape(candidate: Candidate, name: str = "") -> IndexShape:
    shape = parse_index(candidate.sql(name or candidate.name()))
    assert shape is not None
    return shape


def _oriented(kept: Suggestion, absorbed: Candidate) -> Suggestion:
    """A range or equality index takes the direction of an order it absorbs (a range reads
    either way; the order then reads forward, as the script's comment says)."""
    if kept.candidate.kind == "order" or absorbed.kind != "order":
        return kept
    wanted = dict(absorbed.keys)
    keys = tuple((c, wanted.get(c, d)) for c, d in kept.candidate.keys)
    return Suggestion(
        replace(kept.candidate, keys=keys), kept.name, kept.estimates, kept.size_bytes
    )


def _merge(
    conn: Connection,
    chosen: list[tuple[Suggestion, _Work]],
    existing: list[IndexShape],
    threshold: float,
) -> list[Suggestion]:
    """One index per shape: a chosen candidate another one covers (same keys, reversed, a prefix,
    fewer INCLUDE columns) is served by the other, re-estimated on its queries."""
    kept: list[tuple[Suggestion, list[_Work]]] = []
    ranked = sorted(chosen, key=lambda c: (-len(c[0].candidate.keys), -len(c[0].candidate.include)))
    for suggestion, work in ranked:
        mine = _shape(suggestion.candidate, "candidate")
        for n, (other, works) in enumerate(kept):
            if covers(_shape(other.candidate, "kept"), mine, suggestion.candidate.equality):
                kept[n] = (_oriented(other, suggestion.candidate), works)
                works.append(work)
                break
        else:
            kept.append((suggestion, [work]))
    taken = {e.name for e in existing}
    out = []
    for suggestion, works in kept:
        name, n = suggestion.candidate.name(), 2
        while name in taken:
            name, n = f"{suggestion.candidate.name()[:60]}_{n}", n + 1
        taken.add(name)
        suggestion.name = name
        if len(works) > 1:
            suggestion.estimates = []
            for work in works:
                estimates, suggestion.size_bytes = _estimate(conn, work, suggestion.candidate)
                suggestion.estimates += estimates
        out.append(suggestion)
    return out
