"""Drop a synthgen schema — and nothing else — after saying what it holds.

Only schemas synthgen created (they hold ``synthgen_loads``) are dropped. An application schema
synthgen loaded through a mapping (its audit schema ``synthgen_<schema>`` records the load) is
emptied — the tables the load wrote are truncated — or, with ``drop_app_schema``, dropped whole
(a scratch schema its migrations made); its audit schema goes in both cases. ``DROP SCHEMA ...
CASCADE`` would also drop objects *outside* the schema that depend on it (a view elsewhere, a
foreign key from another schema's table); those are looked up first and, if any, the drop is
refused with their names. In ``public`` (allowed only with an explicit flag) the schema stays and
only synthgen's own tables are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from synthgen.errors import LoadError
from synthgen.load.audit import AUDIT_TABLES, LOADS, lock_schema
from synthgen.postgres.connect import (
    Connection,
    DatabaseError,
    connect,
    error_text,
    execute,
    fetch_all,
    fetch_value,
    validate_schema_name,
)
from synthgen.postgres.guard import GuardSettings, check_database, check_environment
from synthgen.postgres.mapped import MappedLoad, audit_schema_for, mapped_loads
from synthgen.schema import TABLES, quote_ident

_KINDS = {
    "r": "table",
    "p": "table",
    "v": "view",
    "m": "materialized view",
    "S": "sequence",
    "f": "foreign table",
}

_RELATIONS_SQL = """
SELECT c.relname, c.relkind, c.reltuples::bigint, pg_total_relation_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
ORDER BY pg_total_relation_size(c.oid) DESC, c.relname
"""

_OTHER_OBJECTS_SQL = """
SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1
UNION ALL
SELECT 'type ' || format_type(t.oid, NULL) FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = $1 AND t.typrelid = 0 AND t.typelem = 0
UNION ALL
SELECT 'extension ' || e.extname FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = $1
"""

# Objects outside the schema that depend on something inside it: DROP ... CASCADE would take
# them too. Each dependent is placed in the schema of the relation, type or function it belongs
# to; kinds not listed (publications, ...) count as outside, so the drop is refused.
_OUTSIDE_DEPENDENTS_SQL = """
WITH target AS (SELECT oid FROM pg_namespace WHERE nspname = $1),
inside AS (
  SELECT 'pg_class'::regclass AS classid, c.oid AS objid FROM pg_class c, target
  WHERE c.relnamespace = target.oid
  UNION ALL SELECT 'pg_type'::regclass, t.oid FROM pg_type t, target
  WHERE t.typnamespace = target.oid
  UNION ALL SELECT 'pg_proc'::regclass, p.oid FROM pg_proc p, target
  WHERE p.pronamespace = target.oid
  UNION ALL SELECT 'pg_namespace'::regclass, oid FROM target
)
SELECT DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid)
FROM pg_depend d JOIN inside i ON d.refclassid = i.classid AND d.refobjid = i.objid
WHERE d.deptype IN ('n', 'a') AND coalesce(CASE d.classid
    WHEN 'pg_class'::regclass THEN (SELECT relnamespace FROM pg_class WHERE oid = d.objid)
    WHEN 'pg_type'::regclass THEN (SELECT typnamespace FROM pg_type WHERE oid = d.objid)
    WHEN 'pg_proc'::regclass THEN (SELECT pronamespace FROM pg_proc WHERE oid = d.objid)
    WHEN 'pg_constraint'::regclass THEN
      (SELECT connamespace FROM pg_constraint WHERE oid = d.objid)
    WHEN 'pg_attrdef'::regclass THEN (SELECT c.relnamespace FROM pg_attrdef a
      JOIN pg_class c ON c.oid = a.adrelid WHERE a.oid = d.objid)
    WHEN 'pg_rewrite'::regclass THEN (SELECT c.relnamespace FROM pg_rewrite r
      JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = d.objid)
    WHEN 'pg_trigger'::regclass THEN (SELECT c.relnamespace FROM pg_trigger t
      JOIN pg_class c ON c.oid = t.tgrelid WHERE t.oid = d.objid)
    WHEN 'pg_policy'::regclass THEN (SELECT c.relnamespace FROM pg_policy p
      JOIN pg_class c ON c.oid = p.polrelid WHERE p.oid = d.objid)
    WHEN 'pg_statistic_ext'::regclass THEN
      (SELECT stxnamespace FROM pg_statistic_ext WHERE oid = d.objid)
  END, 0) <> (SELECT oid FROM target)
ORDER BY 1
"""


@dataclass(frozen=True)
class Relation:
    name: str
    kind: str
    estimated_rows: int | None  # None when never analysed
    bytes: int


@dataclass(frozen=True)
class SchemaContents:
    """What dropping a schema would remove, and what stands in the way."""

    schema: str
    exists: bool
    relations: list[Relation] = field(default_factory=list)
    other_objects: list[str] = field(default_factory=list)
    outside_dependents: list[str] = field(default_factory=list)
    mapped: MappedLoad | None = None  # an application schema a mapped load wrote into
    drop_app_schema: bool = False  # with `mapped`: drop the whole schema, not only its rows

    @property
    def is_synthgen(self) -> bool:
        return self.mapped is not None or any(r.name == LOADS for r in self.relations)

    @property
    def total_bytes(self) -> int:
        return sum(r.bytes for r in self.relations)

    @property
    def action(self) -> str:
        """What the teardown does, as the confirmation asks it."""
        return self._say("drop", "empty", "")

    @property
    def done(self) -> str:
        """What the teardown did."""
        return self._say("dropped", "emptied", "ped")

    def _say(self, drop: str, empty: str, ped: str) -> str:
        if self.mapped is None or self.drop_app_schema:
            extra = f" and its audit schema {self.mapped.audit_schema}" if self.mapped else ""
            return f"{drop} schema {self.schema}{extra}"
        return (
            f"{empty} the {len(self.relations)} tables synthgen loaded in {self.schema} "
            f"and drop{ped} its audit schema {self.mapped.audit_schema}"
        )


def describe_schema(conn: Connection, schema: str) -> SchemaContents:
    """List the schema's relations (estimated rows, sizes), other objects, outside dependents."""
    if fetch_value(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", (schema,)) == 0:
        return SchemaContents(schema, exists=False)
    relations = [
        Relation(
            str(name), _KINDS.get(str(kind), str(kind)), int(rows) if rows >= 0 else None, size
        )
        for name, kind, rows, size in fetch_all(conn, _RELATIONS_SQL, (schema,))
    ]
    if schema == "public":  # only synthgen's own tables would go
        ours = set(TABLES) | set(AUDIT_TABLES)
        relations = [r for r in relations if r.name in ours]
        return SchemaContents(schema, True, relations)
    others = [str(row[0]) for row in fetch_all(conn, _OTHER_OBJECTS_SQL, (schema,))]
    outside = [str(row[0]) for row in fetch_all(conn, _OUTSIDE_DEPENDENTS_SQL, (schema,))]
    return SchemaContents(schema, True, relations, others, outside)


def _mapped_contents(conn: Connection, load: MappedLoad, drop_app_schema: bool) -> SchemaContents:
    """What a mapped load's teardown removes: the schema whole, or the tables it loaded."""
    whole = describe_schema(conn, load.schema)
    if drop_app_schema:
        return SchemaContents(
            load.schema, True, whole.relations, whole.other_objects, whole.outside_dependents,
            load, drop_app_schema=True,
        )  # fmt: skip
    if load.last_status != "complete":
        raise LoadError(
            f"schema {load.schema!r}: its last mapped load is {load.last_status}, so its keys and "
            "indexes are still dropped; finish it with `synthgen load --mapping … --resume`, or "
            "pass --drop-app-schema to drop the whole (scratch) schema"
        )
    loaded = [r for r in whole.relations if r.name in load.tables]
    return SchemaContents(load.schema, True, loaded, mapped=load)


def _drop_mapped(conn: Connection, contents: SchemaContents) -> None:
    assert contents.mapped is not None
    if contents.drop_app_schema:
        statements = [f"DROP SCHEMA {quote_ident(contents.schema)} CASCADE"]
    else:  # one statement: tables that reference each other are emptied together
        targets = ", ".join(
            f"{quote_ident(contents.schema)}.{quote_ident(r.name)}" for r in contents.relations
        )
        statements = [f"TRUNCATE {targets}"] if targets else []
    statements.append(f"DROP SCHEMA IF EXISTS {quote_ident(contents.mapped.audit_schema)} CASCADE")
    try:
        for statement in statements:
            execute(conn, statement)
    except DatabaseError as exc:
        raise LoadError(
            f"tearing down the mapped load into {contents.schema!r} failed: {error_text(exc)}"
        ) from exc


def _check_droppable(contents: SchemaContents) -> None:
    schema = contents.schema
    if not contents.is_synthgen:
        raise LoadError(
            f"schema {schema!r} was not created by synthgen (it has no {LOADS} table); "
            "refusing to drop it"
        )
    if contents.outside_dependents:
        shown = "; ".join(contents.outside_dependents[:5])
        raise LoadError(
            f"schema {schema!r}: objects outside it depend on it ({shown}); "
            "refusing to drop them — remove those first"
        )


def drop_schema(conn: Connection, schema: str) -> SchemaContents:
    """Drop the schema (in `public`: synthgen's tables) and return what it held. Refuses
    schemas synthgen did not create and schemas that objects elsewhere depend on."""
    contents = describe_schema(conn, schema)  # afresh: things may have changed since shown
    if not contents.exists:
        return contents
    _check_droppable(contents)
    if schema == "public":  # RESTRICT: fails, naming them, if anything else depends on these
        targets = ", ".join(f"public.{quote_ident(r.name)}" for r in contents.relations)
        statement = f"DROP TABLE {targets}"
    else:
        statement = f"DROP SCHEMA {quote_ident(schema)} CASCADE"
    try:
        execute(conn, statement)
    except DatabaseError as exc:
        raise LoadError(f"dropping schema {schema!r} failed: {error_text(exc)}") from exc
    return contents


def teardown_schema(
    dsn: str,
    schema: str,
    guard: GuardSettings,
    allow_public: bool,
    confirm: Callable[[SchemaContents], bool],
    drop_app_schema: bool = False,
) -> bool | None:
    """Guard, show (via `confirm`), then drop. None: no such schema; False: not confirmed."""
    schema = validate_schema_name(schema, allow_public)
    check_environment(guard)
    conn = connect(dsn, autocommit=True)
    try:
        check_database(guard, conn, dsn, schema)
        mapped = mapped_loads(conn)
        for load in mapped.values():
            if load.audit_schema == schema:
                raise LoadError(
                    f"schema {schema!r} is the audit trail of the mapped load into "
                    f"{load.schema!r}; tear both down with: "
                    f"synthgen teardown --schema {load.schema}"
                )
        if schema in mapped:
            return _teardown_mapped(conn, mapped[schema], drop_app_schema, confirm)
        if drop_app_schema:
            raise LoadError(
                f"--drop-app-schema: no mapped load into schema {schema!r} is recorded "
                f"(no {audit_schema_for(schema)} audit schema names it)"
            )
        lock_schema(conn, schema)
        contents = describe_schema(conn, schema)
        if not contents.exists:
            return None
        _check_droppable(contents)
        if not confirm(contents):
            return False
        drop_schema(conn, schema)
        return True
    finally:
        conn.close()


def _teardown_mapped(
    conn: Connection,
    load: MappedLoad,
    drop_app_schema: bool,
    confirm: Callable[[SchemaContents], bool],
) -> bool:
    if drop_app_schema and load.schema == "public":
        raise LoadError(
            "--drop-app-schema: refused for the public schema; empty its tables instead"
        )
    lock_schema(conn, load.audit_schema)  # the lock a mapped load takes
    contents = _mapped_contents(conn, load, drop_app_schema)
    if contents.outside_dependents:
        _check_droppable(contents)
    if not confirm(contents):
        return False
    _drop_mapped(conn, contents)
    return True
