"""After the bulk load: primary keys, phase-1 indexes, foreign keys, then VACUUM (FREEZE, ANALYZE)
— each step timed. The vacuum settles the tables before anything measures them: it sets the
visibility map (index-only scans need it) and freezes the rows, so autovacuum has nothing left
to rewrite while baselines and index builds run.

Every statement is skipped when its object already exists (a resumed load that was killed after
some keys were built), and each step runs its independent statements over several connections:
one task per table, so two statements never fight over one table's lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from synthgen.load.pool import Pool, run_parallel, run_statements
from synthgen.postgres.connect import Connection, autocommit, execute, fetch_all
from synthgen.schema import (
    PHASE1_INDEXES,
    TABLES,
    foreign_key_name,
    foreign_key_sql,
    phase1_index_sql,
    primary_key_name,
    primary_key_sql,
    quote_ident,
    validate_foreign_key_sql,
)

Task = list[str]  # statements run in order on one connection


@dataclass(frozen=True)
class Step:
    """One timed post-load step: tasks that may run in parallel with each other."""

    name: str
    tasks: list[Task]
    parallel: bool = True
    autocommit: bool = False  # VACUUM cannot run inside a transaction block


VACUUM_STEP = "vacuum (freeze, analyze)"


def existing_keys(conn: Connection, schema: str) -> dict[str, bool]:
    """Constraint and index names present in `schema` -> whether they are validated."""
    rows = fetch_all(
        conn,
        "SELECT c.conname, c.convalidated FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = $1 "
        "UNION ALL SELECT indexname, true FROM pg_indexes WHERE schemaname = $1",
        (schema,),
    )
    found: dict[str, bool] = {}
    for name, validated in rows:
        found[str(name)] = bool(found.get(str(name), True) and validated)
    return found


def post_load_steps(schema: str, tables: list[str], existing: dict[str, bool]) -> list[Step]:
    """The steps still to do, tables biggest first; a step with nothing to do has no tasks."""
    primary = [
        [primary_key_sql(TABLES[t], schema)]
        for t in tables
        if primary_key_name(TABLES[t]) not in existing
    ]
    order = {t: i for i, t in enumerate(tables)}
    phase1 = sorted(
        zip(PHASE1_INDEXES, phase1_index_sql(schema), strict=True), key=lambda p: order[p[0][0]]
    )
    indexes = [[sql] for (_, name, _, _), sql in phase1 if name not in existing]
    add_fks: Task = []
    validate: list[Task] = []
    for t in tables:
        table = TABLES[t]
        names = [foreign_key_name(table, column) for column, _, _ in table.foreign_keys]
        adds = zip(names, foreign_key_sql(table, schema), strict=True)
        add_fks += [sql for name, sql in adds if name not in existing]
        checks = zip(names, validate_foreign_key_sql(table, schema), strict=True)
        todo = [sql for name, sql in checks if not existing.get(name, False)]
        if todo:
            validate.append(todo)
    vacuum = [
        [f"VACUUM (FREEZE, ANALYZE) {_target(schema, t)}", autovacuum_sql(t, schema, enabled=True)]
        for t in tables
    ]
    return [
        Step("primary keys", primary),
        Step("phase-1 indexes", indexes),
        Step("foreign keys (NOT VALID)", [add_fks] if add_fks else [], parallel=False),
        Step("validate foreign keys", validate),
        Step(VACUUM_STEP, vacuum, autocommit=True),
    ]


def _target(schema: str, table: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def autovacuum_sql(table: str, schema: str, enabled: bool) -> str:
    """Turn autovacuum off for a table during the bulk load, or back to the server default."""
    if enabled:
        return f"ALTER TABLE {_target(schema, table)} RESET (autovacuum_enabled)"
    return f"ALTER TABLE {_target(schema, table)} SET (autovacuum_enabled = off)"


def run_steps(
    pool: Pool, steps: list[Step], on_step: Callable[[str, float], None] | None = None
) -> dict[str, float]:
    """Run the steps in order over the pool's connections; return seconds per step.
    The first failing statement is raised as a StepError naming its step."""
    seconds: dict[str, float] = {}
    for step in steps:
        start = time.perf_counter()
        try:
            work = _run_autocommit if step.autocommit else run_statements
            run_parallel(pool, step.tasks, work, None if step.parallel else 1)
        except Exception as exc:
            raise StepError(step.name, exc) from exc
        seconds[step.name] = round(time.perf_counter() - start, 3)
        if on_step is not None:
            on_step(step.name, seconds[step.name])
    return seconds


def _run_autocommit(conn: Connection, statements: Task) -> None:
    """Run a task's statements outside a transaction block (VACUUM) on its pooled connection,
    switched to autocommit for them."""
    with autocommit(conn):
        for sql in statements:
            execute(conn, sql)


class StepError(Exception):
    """A post-load step failed; carries the step's name and the driver error."""

    def __init__(self, step: str, cause: BaseException) -> None:
        super().__init__(f"{step}: {cause}")
        self.step = step
        self.cause = cause
