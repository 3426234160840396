"""After the mapped bulk load: exact counts, settled tables, the application's keys, indexes and
foreign keys as its migrations made them — each step over the pool's connections, one table
(or one index, one foreign key) per task, biggest first.

Order, chosen for the least work on the server:

1. counts: ``count(*)`` per table, in parallel, against the dataset's;
2. ``VACUUM (ANALYZE)`` per table while it has no index (a heap pass only): it sets the hint
   bits and the visibility map once — the index builds then read clean pages, a foreign key's
   check can read the parent's key index alone (an index-only scan) instead of its heap, and
   the planner of those checks has statistics — and it gives the table its autovacuum setting
   back (off during the load, so autovacuum did not rescan growing tables meanwhile);
3. primary keys, unique constraints and indexes from their saved definitions, one table per
   task (tables in parallel: a key built by ALTER TABLE locks its table exclusively);
4. foreign keys ``NOT VALID`` (one short transaction), then ``VALIDATE``d, one referencing
   table per task (two validations of one table wait for each other), tables in parallel;
5. the catalog checked against what the migrations made, autovacuum settings included.

Not ``FREEZE`` (the contract load's final vacuum freezes): freezing rewrites every page a
second time (about 2.6x the vacuum's time on the delivery table); the visibility map and fresh
counters already keep autovacuum away while the gate measures.
"""

from __future__ import annotations

import time
from typing import Any

from synthgen.appschema.catalog import SavedObject, saved_objects, text_array
from synthgen.appschema.plan import LoadPlan
from synthgen.errors import LoadError
from synthgen.postgres.connect import Connection, connect, execute, fetch_all
from synthgen.postgres.pool import Pool, run_parallel, run_statements
from synthgen.schema import qualified as _q
from synthgen.schema import quote_ident

AUTOVACUUM = "synthgen_saved_autovacuum"
_SETTINGS_SQL = """
SELECT c.relname, (SELECT o.option_value FROM pg_options_to_table(c.reloptions) o
                   WHERE o.option_name = 'autovacuum_enabled')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) ORDER BY 1
"""


def autovacuum_ddl(audit_schema: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {_q(audit_schema, AUTOVACUUM)} (table_name text PRIMARY KEY,"
        " setting text)"
    )


def read_autovacuum(conn: Connection, schema: str, tables: list[str]) -> dict[str, str | None]:
    """Each table's own ``autovacuum_enabled`` storage parameter (None: the server default)."""
    rows = fetch_all(conn, _SETTINGS_SQL, (schema, text_array(tables)))
    return {str(t): (None if v is None else str(v)) for t, v in rows}


def saved_autovacuum(conn: Connection, audit_schema: str) -> dict[str, str | None] | None:
    """The settings recorded by the first attempt of this load, or None if none were."""
    exists = fetch_all(conn, "SELECT to_regclass($1) IS NOT NULL", (_q(audit_schema, AUTOVACUUM),))
    if not exists or not exists[0][0]:
        return None
    rows = fetch_all(conn, f"SELECT table_name, setting FROM {_q(audit_schema, AUTOVACUUM)}")
    return {str(t): (None if v is None else str(v)) for t, v in rows} if rows else None


def pause_autovacuum(
    pool: Pool,
    control: Connection,
    plan: LoadPlan,
    audit_schema: str,
    carried: dict[str, str | None] | None = None,
) -> None:
    """Record the tables' autovacuum settings once (a resume, or a --replace of a load that
    stopped, keeps the first record: the tables may still be paused), then pause it."""
    targets = [t.target for t in plan.tables]
    recorded = saved_autovacuum(control, audit_schema)
    statements = [autovacuum_ddl(audit_schema)]
    if recorded is None:
        settings = (
            carried if carried is not None else read_autovacuum(control, plan.schema, targets)
        )
        statements += [
            f"INSERT INTO {_q(audit_schema, AUTOVACUUM)} VALUES ({_literal(t)}, "
            f"{'NULL' if settings.get(t) is None else _literal(str(settings[t]))})"
            for t in targets
        ]
    statements += [
        f"ALTER TABLE {_q(plan.schema, t)} SET (autovacuum_enabled = off)" for t in targets
    ]
    run_statements(pool.get(0), statements)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _setting_sql(schema: str, table: str, setting: str | None) -> str:
    if setting is None:
        return f"ALTER TABLE {_q(schema, table)} RESET (autovacuum_enabled)"
    return f"ALTER TABLE {_q(schema, table)} SET (autovacuum_enabled = {_literal(setting)})"


def check_counts(pool: Pool, plan: LoadPlan, source_rows: dict[str, int]) -> dict[str, int]:
    """Exact row counts, one table per task; LoadError naming every table that differs."""

    def count(conn: Connection, target: str) -> int:
        try:
            rows = fetch_all(conn, f"SELECT count(*) FROM {_q(plan.schema, target)}")
        finally:
            conn.rollback()  # end the read's transaction: no snapshot held across steps
        return int(rows[0][0])

    targets = sorted(plan.tables, key=lambda t: -source_rows.get(t.source, 0))
    got = run_parallel(pool, [t.target for t in targets], count)
    counts: dict[str, int] = {}
    differ: list[str] = []
    for table, rows in zip(targets, got, strict=True):
        want = int(source_rows.get(table.source, 0)) * table.rows_per_source_row
        counts[table.target] = rows
        if rows != want:
            differ.append(f"{table.target} {rows:,} != {want:,}")
    if differ:
        raise LoadError(f"row counts differ from the dataset: {'; '.join(differ)}")
    return {t.target: counts[t.target] for t in plan.tables}


def settle(
    pool: Pool, control: Connection, plan: LoadPlan, audit_schema: str, order: list[str]
) -> None:
    """VACUUM (ANALYZE) each table (in `order`, biggest first) on an autocommit connection of
    its own, then give it back its recorded autovacuum setting."""
    settings = saved_autovacuum(control, audit_schema) or {}

    def work(_pooled: Connection, table: str) -> None:
        conn = connect(pool.dsn, autocommit=True)
        try:
            execute(conn, f"VACUUM (ANALYZE) {_q(plan.schema, table)}")
            execute(conn, _setting_sql(plan.schema, table, settings.get(table)))
        finally:
            conn.close()

    run_parallel(pool, order, work)


def restore_keys(
    pool: Pool, control: Connection, plan: LoadPlan, saved: list[SavedObject], order: list[str]
) -> dict[str, float]:
    """Keys, unique constraints and indexes as the migrations made them (biggest table first),
    then foreign keys NOT VALID + VALIDATE; each skipped when it exists (a resume after a crash
    here). Then the catalog is checked against what the migrations made.

    Every index is built by its own task, so the indexes of one table are built side by side
    (CREATE INDEX takes a SHARE lock, which does not conflict with itself): the largest table's
    three or four builds are no longer one connection's queue while the other waits idle. A
    primary key or unique constraint is built as its unique index and attached to it afterwards
    (ADD CONSTRAINT … USING INDEX: a catalog change, no scan), since ADD CONSTRAINT … PRIMARY
    KEY would lock its table exclusively for the whole build; the few it cannot be (deferrable,
    or in a tablespace) are added as before, one table per task, once the builds are done."""
    steps: dict[str, float] = {}
    targets = [t.target for t in plan.tables]
    now = saved_objects(control, plan.schema, targets)
    constraints = {o.name for o in now if o.kind != "index"}
    indexes = {o.name for o in now if o.kind == "index"}  # a constraint's index, not attached
    rank = {t: i for i, t in enumerate(order)}
    todo = [o for o in saved if o.kind != "foreign key" and o.name not in constraints]
    by_index = [o for o in todo if o.kind == "index" or o.index_definition]
    builds = sorted(
        (o for o in by_index if o.name not in indexes),
        key=lambda o: (rank.get(o.table, len(rank)), o.sort_key),
    )
    start = time.perf_counter()

    # with a build on every connection the cores are taken: a build's parallel workers would
    # only compete with the other builds (measured: the step took 7.1 s with them, 6.1 without)
    serial = ["SET LOCAL max_parallel_maintenance_workers = 0"] if pool.size > 1 else []

    def build(conn: Connection, o: SavedObject) -> None:
        run_statements(conn, [*serial, o.index_definition or o.definition])

    def add(conn: Connection, objects: list[SavedObject]) -> None:
        for o in objects:
            run_statements(conn, [o.definition])

    def validate(conn: Connection, objects: list[SavedObject]) -> None:
        for o in objects:
            home = _q(o.table_schema or plan.schema, o.table)
            run_statements(conn, [f"ALTER TABLE {home} VALIDATE CONSTRAINT {quote_ident(o.name)}"])

    run_parallel(pool, builds, build)
    attach = [o.attach_sql for o in todo if o.kind != "index" and o.index_definition]
    run_statements(pool.get(0), attach)
    rest = [o for o in todo if o.kind != "index" and not o.index_definition]
    run_parallel(pool, _per_table(rest, rank), add)
    steps["keys and indexes"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    fks = [o for o in saved if o.kind == "foreign key" and o.name not in constraints]
    run_statements(pool.get(0), [o.definition + " NOT VALID" for o in fks])
    run_parallel(pool, _per_table(fks, rank), validate)
    steps["foreign keys"] = round(time.perf_counter() - start, 3)
    _check_catalog(control, plan, saved)
    return steps


def _per_table(objects: list[SavedObject], rank: dict[str, int]) -> list[list[SavedObject]]:
    """One task per table, biggest table first, its objects in catalog order: two statements on
    one table would wait for each other anyway (ADD PRIMARY KEY / UNIQUE take an ACCESS
    EXCLUSIVE lock, VALIDATE CONSTRAINT a SHARE UPDATE EXCLUSIVE one, which conflicts with
    itself), and a waiting connection is one the other tables do not get."""
    tasks: dict[tuple[str, str], list[SavedObject]] = {}
    for o in sorted(objects, key=lambda o: o.sort_key):
        tasks.setdefault((o.table_schema, o.table), []).append(o)
    return sorted(
        tasks.values(), key=lambda task: (rank.get(task[0].table, len(rank)), task[0].table)
    )


def _check_catalog(control: Connection, plan: LoadPlan, saved: list[SavedObject]) -> None:
    targets = [t.target for t in plan.tables]
    after = {(o.kind, o.name, o.definition) for o in saved_objects(control, plan.schema, targets)}
    before = {(o.kind, o.name, o.definition) for o in saved}
    if after != before:
        missing = sorted(n for _, n, _ in before - after)
        extra = sorted(n for _, n, _ in after - before)
        raise LoadError(
            f"the schema's keys and indexes differ from what its migrations made (missing "
            f"{missing[:3]}, unexpected {extra[:3]}); nothing was dropped by hand?"
        )


def check_autovacuum(control: Connection, plan: LoadPlan, audit_schema: str) -> None:
    """Every table has its own autovacuum setting back."""
    want = saved_autovacuum(control, audit_schema) or {}
    got = read_autovacuum(control, plan.schema, [t.target for t in plan.tables])
    differ = sorted(t for t in want if got.get(t) != want[t])
    if differ:
        raise LoadError(
            f"table {plan.schema}.{differ[0]} did not get its autovacuum setting back "
            f"({got.get(differ[0])!r}, was {want[differ[0]]!r})"
        )


def analyze_expression_indexed(control: Connection, schema: str, tables: list[str]) -> list[str]:
    """ANALYZE the tables with an expression index (their statistics are gathered with the
    index; the other columns' came with the vacuum before the indexes existed)."""
    rows: list[tuple[Any, ...]] = fetch_all(
        control,
        "SELECT DISTINCT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 "
        "AND c.relname = ANY($2::text[]) AND i.indexprs IS NOT NULL ORDER BY 1",
        (schema, text_array(tables)),
    )
    names = [str(r[0]) for r in rows]
    for name in names:
        execute(control, f"ANALYZE {_q(schema, name)}")
    return names
