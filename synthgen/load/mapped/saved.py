"""The application's keys, indexes and autovacuum settings, recorded in the audit schema before
the mapped load drops (or pauses) them, so that ``restore`` puts them back exactly — also after a
load that stopped and is resumed or replaced."""

from __future__ import annotations

from dataclasses import dataclass

from synthgen.appschema.catalog import SavedObject, drop_sql, saved_objects
from synthgen.load.mapped import restore
from synthgen.load.mapped.load_plan import LoadPlan
from synthgen.load.pool import Pool, run_statements
from synthgen.postgres.connect import Connection, fetch_all
from synthgen.postgres.mapped import SAVED_OBJECTS as SAVED
from synthgen.schema import qualified as _q
from synthgen.schema import quote_literal


def saved_ddl(audit_schema: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {_q(audit_schema, SAVED)} (position integer PRIMARY KEY, "
        "kind text NOT NULL, name text NOT NULL, table_name text NOT NULL, "
        "table_schema text NOT NULL, definition text NOT NULL, index_definition text NOT NULL)"
    )


def recorded_objects(control: Connection, audit_schema: str) -> list[SavedObject]:
    """The keys and indexes the first attempt of this load recorded (none: an empty list)."""
    found = fetch_all(control, "SELECT to_regclass($1) IS NOT NULL", (_q(audit_schema, SAVED),))
    if not found or not found[0][0]:
        return []
    rows = fetch_all(
        control,
        f"SELECT kind, name, table_name, definition, table_schema, index_definition "
        f"FROM {_q(audit_schema, SAVED)} "
        "ORDER BY position",
    )
    return [SavedObject(*(str(v) for v in row)) for row in rows]


@dataclass(frozen=True)
class Carried:
    """What a --replace keeps from a load that stopped: the keys and indexes it had dropped and
    the autovacuum settings it had paused, as the migrations made them."""

    objects: list[SavedObject]
    autovacuum: dict[str, str | None] | None


def save_and_drop(
    pool: Pool, control: Connection, plan: LoadPlan, audit_schema: str, carried: Carried
) -> list[SavedObject]:
    """Record the app's keys and indexes once (a resume keeps the first record), then drop them;
    the same for the tables' autovacuum settings, then pause autovacuum."""
    saved = recorded_objects(control, audit_schema)
    if not saved:
        saved = carried.objects or saved_objects(
            control, plan.schema, [t.target for t in plan.tables]
        )
        statements = [
            f"INSERT INTO {_q(audit_schema, SAVED)} VALUES ({i}, "
            + ", ".join(
                quote_literal(v)
                for v in (o.kind, o.name, o.table, o.table_schema, o.definition, o.index_definition)
            )
            + ")"
            for i, o in enumerate(saved)
        ]
        run_statements(pool.get(0), statements)
    drops = [drop_sql(plan.schema, o) for o in sorted(saved, key=lambda o: -o.sort_key[0])]
    run_statements(pool.get(0), drops)
    restore.pause_autovacuum(pool, control, plan, audit_schema, carried.autovacuum)
    return saved
