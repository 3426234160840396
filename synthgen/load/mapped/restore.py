"""After the mapped bulk load: exact counts, settled tables, then the application's keys,
indexes and foreign keys as its migrations made them, over the pool's connections (one table,
index or foreign key per task, biggest first).

Per table: ``VACUUM (ANALYZE)`` while it has no index (the index builds and foreign-key
checks then read clean, visible pages), then its count checked, its autovacuum setting back;
each index as soon as its table is settled; keys attached to their unique indexes; foreign keys
``NOT VALID`` then validated; the catalog checked against what the migrations made. Not
``FREEZE``: it rewrites every page a second time (its cost: benchmarks/README.md).
"""

from __future__ import annotations

import time
from typing import Any

from synthgen.appschema.catalog import SavedObject, saved_objects, text_array
from synthgen.errors import LoadError
from synthgen.load.mapped.load_plan import LoadPlan
from synthgen.load.pool import Pool, run_parallel, run_ready, run_statements
from synthgen.postgres.connect import Connection, autocommit, execute, fetch_all
from synthgen.schema import qualified as _q
from synthgen.schema import quote_ident, quote_literal

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
            f"INSERT INTO {_q(audit_schema, AUTOVACUUM)} VALUES ({quote_literal(t)}, "
            f"{'NULL' if settings.get(t) is None else quote_literal(str(settings[t]))})"
            for t in targets
        ]
    statements += [
        f"ALTER TABLE {_q(plan.schema, t)} SET (autovacuum_enabled = off)" for t in targets
    ]
    run_statements(pool.get(0), statements)


def _setting_sql(schema: str, table: str, setting: str | None) -> str:
    if setting is None:
        return f"ALTER TABLE {_q(schema, table)} RESET (autovacuum_enabled)"
    return f"ALTER TABLE {_q(schema, table)} SET (autovacuum_enabled = {quote_literal(setting)})"


# A count or a foreign key's check while every connection of the pool works: a query's parallel
# workers would only compete with the other connections' work, and compiling it (JIT) costs
# more than its expressions take to run.
_ONE_CORE = ["SET LOCAL max_parallel_workers_per_gather = 0", "SET LOCAL jit = off"]


def settle_and_build(
    pool: Pool,
    control: Connection,
    plan: LoadPlan,
    audit_schema: str,
    saved: list[SavedObject],
    source_rows: dict[str, int],
) -> dict[str, int]:
    """Each table, biggest first: VACUUM (ANALYZE) while it has no index, its exact row count
    checked (LoadError naming it), its autovacuum setting back; then each of its indexes — a
    primary key or unique constraint as its unique index, attached later by `restore_keys` —
    built by a task of its own, as soon as its table is settled: a free connection takes the
    first ready task, so the small tables' builds need not wait for the biggest table's vacuum,
    and one table's builds run side by side (CREATE INDEX takes a SHARE lock, which does not
    conflict with itself). Returns the counts. Indexes that exist (a resume) are not rebuilt."""
    want = {t.target: int(source_rows.get(t.source, 0)) * t.rows_per_source_row
            for t in plan.tables}  # fmt: skip
    order = sorted(want, key=lambda t: -want[t])
    at = {t: i for i, t in enumerate(order)}
    settings = saved_autovacuum(control, audit_schema) or {}
    present = {o.name for o in saved_objects(control, plan.schema, order)}
    builds = sorted(
        (o for o in saved if (o.kind == "index" or o.index_definition) and o.name not in present),
        key=lambda o: (at.get(o.table, len(order)), o.sort_key),
    )
    # with a build on every connection the cores are taken: a build's parallel workers would
    # only compete with the other builds (measured: 16.5 s of server CPU with them, 14.5 s
    # without, for the same builds)
    serial = ["SET LOCAL max_parallel_maintenance_workers = 0"] if pool.size > 1 else []
    one_core = _ONE_CORE if pool.size > 1 else []
    counts: dict[str, int] = {}

    def settle(conn: Connection, table: str) -> None:
        # the vacuum first: it sets the hint bits and marks every page all-visible, so the count
        # then skips the per-row visibility checks (and does not dirty the pages for the hint
        # bits the vacuum would set anyway)
        with autocommit(conn):  # VACUUM runs outside a transaction
            execute(conn, f"VACUUM (ANALYZE) {_q(plan.schema, table)}")
        try:
            for sql in one_core:
                execute(conn, sql)
            rows = int(fetch_all(conn, f"SELECT count(*) FROM {_q(plan.schema, table)}")[0][0])
        finally:
            conn.rollback()  # end the read's transaction: no snapshot held across steps
        if rows != want[table]:
            raise LoadError(
                f"row counts differ from the dataset: {table} {rows:,} != {want[table]:,}"
            )
        counts[table] = rows
        with autocommit(conn):
            execute(conn, _setting_sql(plan.schema, table, settings.get(table)))

    def work(conn: Connection, task: str | SavedObject) -> None:
        if isinstance(task, str):
            settle(conn, task)
        else:
            run_statements(conn, [*serial, task.index_definition or task.definition])

    tasks: list[str | SavedObject] = [*order, *builds]
    needs = [frozenset[int]() for _ in order] + [
        frozenset({at[o.table]}) if o.table in at else frozenset() for o in builds
    ]
    run_ready(pool, tasks, work, needs)
    return {t.target: counts[t.target] for t in plan.tables}


def restore_keys(
    pool: Pool, control: Connection, plan: LoadPlan, saved: list[SavedObject], order: list[str]
) -> dict[str, float]:
    """After `settle_and_build`: primary keys and unique constraints attached to their built
    indexes (ADD CONSTRAINT … USING INDEX: a catalog change, no scan — ADD CONSTRAINT … PRIMARY
    KEY would have locked the table exclusively for the whole build); those that cannot be
    (deferrable, or in a tablespace) added as the migrations wrote them, one table per task;
    then foreign keys NOT VALID + VALIDATE. Each is skipped when it exists (a resume after a
    crash here). Then the catalog is checked against what the migrations made."""
    steps: dict[str, float] = {}
    targets = [t.target for t in plan.tables]
    now = saved_objects(control, plan.schema, targets)
    constraints = {o.name for o in now if o.kind != "index"}
    rank = {t: i for i, t in enumerate(order)}
    keys = ("primary key", "unique")
    todo = [o for o in saved if o.kind in keys and o.name not in constraints]
    start = time.perf_counter()

    def add(conn: Connection, objects: list[SavedObject]) -> None:
        for o in objects:
            run_statements(conn, [o.definition])

    def validate(conn: Connection, objects: list[SavedObject]) -> None:
        for o in objects:
            home = _q(o.table_schema or plan.schema, o.table)
            check = f"ALTER TABLE {home} VALIDATE CONSTRAINT {quote_ident(o.name)}"
            run_statements(conn, [*(_ONE_CORE if pool.size > 1 else []), check])

    run_statements(pool.get(0), [o.attach_sql for o in todo if o.index_definition])
    run_parallel(pool, _per_table([o for o in todo if not o.index_definition], rank), add)
    steps["keys"] = round(time.perf_counter() - start, 3)
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
