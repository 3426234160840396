"""Ask the planner about hypothetical indexes (HypoPG): plan costs, sorts and indexes of one
prepared query per parameter class, with and without a candidate that exists only in this
session. Nothing is built; `CREATE EXTENSION hypopg` is the one write (the guard clears it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from synthgen.errors import VerifyError
from synthgen.postgres.connect import Connection, execute, fetch_all, fetch_value
from synthgen.verify.baseline import PLAN_MODES, typed_literal
from synthgen.verify.queries import Query

PLAN_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.synthgen_hypo_plan(stmt text) RETURNS json
LANGUAGE plpgsql AS $fn$
DECLARE plan json;
BEGIN
    EXECUTE 'EXPLAIN (VERBOSE, FORMAT JSON) ' || stmt INTO plan;
    RETURN plan;
END
$fn$
"""


def require_hypopg(conn: Connection) -> str:
    """Create the extension, or refuse in one line naming the package that provides it;
    returns the (quoted) schema its functions live in."""
    if not fetch_value(conn, "SELECT count(*) FROM pg_available_extensions WHERE name = 'hypopg'"):
        major = int(fetch_value(conn, "SELECT current_setting('server_version_num')")) // 10000
        raise VerifyError(
            f"HypoPG is not available on this PostgreSQL {major} server: install the package "
            f"postgresql-{major}-hypopg (the embedded PostgreSQL does not ship it)"
        )
    execute(conn, "CREATE EXTENSION IF NOT EXISTS hypopg")
    execute(conn, PLAN_FUNCTION)
    where = fetch_value(
        conn,
        "SELECT quote_ident(n.nspname) FROM pg_extension e "
        "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'hypopg'",
    )
    return str(where)


@dataclass(frozen=True)
class PlanFacts:
    cost: float
    sorts: int
    indexes: tuple[str, ...]


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def facts(explain_json: Any) -> PlanFacts:
    """Total estimated cost, Sort nodes and index names of a plan."""
    root = (explain_json[0] if isinstance(explain_json, list) else explain_json)["Plan"]
    nodes = list(_nodes(root))
    return PlanFacts(
        float(root["Total Cost"]),
        sum(n["Node Type"] in ("Sort", "Incremental Sort") for n in nodes),
        tuple(str(n["Index Name"]) for n in nodes if n.get("Index Name")),
    )


class Prepared:
    """One query prepared in the session, explained per parameter class."""

    def __init__(self, conn: Connection, query: Query) -> None:
        self.conn, self.query = conn, query
        self.statement = f"synthgen_hypo_{query.key}"

    def __enter__(self) -> Prepared:
        types = ", ".join(p.type for p in self.query.params)
        head = f"PREPARE {self.statement}({types})" if types else f"PREPARE {self.statement}"
        execute(self.conn, f"{head} AS {self.query.sql}")
        return self

    def __exit__(self, *exc: object) -> None:
        execute(self.conn, f"DEALLOCATE {self.statement}")
        execute(self.conn, "RESET plan_cache_mode")

    def plan(self, values: list[tuple[Any, str]], mode: str = "custom") -> Any:
        """EXPLAIN (VERBOSE, FORMAT JSON) of EXECUTE with these values in this plan mode."""
        execute(self.conn, f"SET plan_cache_mode = {PLAN_MODES[mode]}")
        args = ", ".join(typed_literal(v, t) for v, t in values)
        call = f"EXECUTE {self.statement}({args})" if values else f"EXECUTE {self.statement}"
        raw = fetch_value(self.conn, "SELECT pg_temp.synthgen_hypo_plan($1)", (call,))
        return json.loads(raw) if isinstance(raw, str) else raw

    def structure(self, values: list[tuple[Any, str]]) -> Any:
        """The generic plan with ordered index scans turned off: what the query fixes, filters
        and sorts by shows as conditions and a Sort even when an existing index serves it."""
        execute(self.conn, "SET enable_indexscan = off")
        execute(self.conn, "SET enable_indexonlyscan = off")
        try:
            return self.plan(values, "generic")
        finally:
            execute(self.conn, "RESET enable_indexscan")
            execute(self.conn, "RESET enable_indexonlyscan")


class Hypothetical:
    """A hypothetical index for the duration of a `with` block: its name and estimated size."""

    def __init__(self, conn: Connection, definition: str, where: str) -> None:
        self.conn, self.definition, self.where = conn, definition, where
        self.oid, self.name, self.size_bytes = 0, "", 0

    def __enter__(self) -> Hypothetical:
        rows = fetch_all(
            self.conn,
            f"SELECT indexrelid, indexname FROM {self.where}.hypopg_create_index($1)",
            (self.definition,),
        )
        self.oid, self.name = int(rows[0][0]), str(rows[0][1])
        self.size_bytes = int(
            fetch_value(self.conn, f"SELECT {self.where}.hypopg_relation_size($1)", (self.oid,))
        )
        return self

    def __exit__(self, *exc: object) -> None:
        execute(self.conn, f"SELECT {self.where}.hypopg_drop_index({self.oid})")
