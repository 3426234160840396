"""What the application's migrations made: tables, columns and their types, enum labels, unique
columns, and the exact definitions of its keys, constraints and indexes (to drop them for the bulk
load and recreate them as they were)."""

from __future__ import annotations

from dataclasses import dataclass, field

from synthgen.postgres.connect import Connection, fetch_all
from synthgen.schema import quote_ident


@dataclass(frozen=True)
class TargetColumn:
    """One column of an application table."""

    name: str
    type_name: str  # format_type(), e.g. "timestamp(3) without time zone", "character varying(255)"
    base: str  # pg_type.typname of the column's type, e.g. "timestamp", "varchar", "MessageType"
    is_enum: bool
    not_null: bool
    has_default: bool  # a default, an identity or a generated column: the server fills it
    max_length: int | None  # varchar(n) / char(n)
    labels: tuple[str, ...] = ()  # an enum's labels
    unique: bool = False  # alone in a unique index or constraint
    references: Reference | None = None  # a foreign key this column is part of

    @property
    def required(self) -> bool:
        """Whether a load must give this column a value."""
        return self.not_null and not self.has_default


@dataclass(frozen=True)
class Reference:
    """A foreign key from a column: its constraint, the table and column it points at."""

    constraint: str
    schema: str
    table: str
    column: str
    columns: int = 1  # how many columns the key has (a composite key's columns go together)

    def describe(self) -> str:
        return f"{self.table}({self.column}) through {self.constraint}"


@dataclass(frozen=True)
class TargetTable:
    name: str
    columns: dict[str, TargetColumn]
    keys: tuple[tuple[str, ...], ...] = ()  # the column lists of its primary and unique keys


@dataclass(frozen=True)
class SavedObject:
    """A key, constraint or index as the migrations made it, with the statement that remakes it."""

    kind: str  # "primary key", "unique", "foreign key", "check", "index"
    name: str
    table: str
    definition: str  # CREATE INDEX … / ALTER TABLE … ADD CONSTRAINT …
    table_schema: str = ""  # where `table` lives (a foreign key may point in from elsewhere)
    # a primary key or unique constraint that can be rebuilt as its unique index first and
    # attached to it afterwards (ADD CONSTRAINT … USING INDEX): that index's CREATE statement
    index_definition: str = ""

    @property
    def attach_sql(self) -> str:
        """ALTER TABLE … ADD CONSTRAINT … USING INDEX: the constraint on its built index."""
        home = f"{quote_ident(self.table_schema)}.{quote_ident(self.table)}"
        what = "PRIMARY KEY" if self.kind == "primary key" else "UNIQUE"
        name = quote_ident(self.name)
        return f"ALTER TABLE {home} ADD CONSTRAINT {name} {what} USING INDEX {name}"

    @property
    def sort_key(self) -> tuple[int, str, str]:
        order = {"primary key": 0, "unique": 1, "index": 2, "check": 3, "foreign key": 4}
        return (order[self.kind], self.table, self.name)


@dataclass(frozen=True)
class Catalog:
    schema: str
    tables: dict[str, TargetTable] = field(default_factory=dict)

    def objects(self, conn: Connection, tables: list[str]) -> list[SavedObject]:
        """Keys, constraints and indexes on `tables` (and foreign keys pointing at them)."""
        return saved_objects(conn, self.schema, tables)


_COLUMNS_SQL = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), t.typname,
       t.typtype = 'e', a.attnotnull,
       a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '',
       CASE WHEN t.typname IN ('varchar', 'bpchar') AND a.atttypmod > 4
            THEN a.atttypmod - 4 END,
       coalesce((SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder)
                 FROM pg_enum e WHERE e.enumtypid = a.atttypid), '{}'),
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique
               AND i.indnkeyatts = 1 AND i.indkey[0] = a.attnum AND i.indpred IS NULL)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""


_REFERENCES_SQL = """
SELECT rel.relname, a.attname, con.conname, rn.nspname, ref.relname, ra.attname,
       cardinality(con.conkey)
FROM pg_constraint con
JOIN pg_class rel ON rel.oid = con.conrelid
JOIN pg_namespace n ON n.oid = rel.relnamespace
JOIN pg_class ref ON ref.oid = con.confrelid
JOIN pg_namespace rn ON rn.oid = ref.relnamespace
CROSS JOIN LATERAL unnest(con.conkey, con.confkey) AS k(attnum, refnum)
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.refnum
WHERE con.contype = 'f' AND n.nspname = $1
ORDER BY 1, 2, 3
"""


_KEYS_SQL = """
SELECT c.relname, array_agg(a.attname ORDER BY k.n)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace ns ON ns.oid = c.relnamespace
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE ns.nspname = $1 AND i.indisunique AND i.indpred IS NULL
GROUP BY c.relname, i.indexrelid
"""


def read_catalog(conn: Connection, schema: str) -> Catalog:
    """Every table of `schema` with its columns (empty when the schema has none)."""
    references: dict[tuple[str, str], Reference] = {}
    for table, column, name, ref_schema, ref_table, ref_column, width in fetch_all(
        conn, _REFERENCES_SQL, (schema,)
    ):  # a column in two foreign keys: the first (by name) is the one shown
        references.setdefault(
            (str(table), str(column)),
            Reference(str(name), str(ref_schema), str(ref_table), str(ref_column), int(width)),
        )
    tables: dict[str, dict[str, TargetColumn]] = {}
    for row in fetch_all(conn, _COLUMNS_SQL, (schema,)):
        table, name, type_name, base, is_enum, not_null, has_default, length, labels, unique = row
        tables.setdefault(str(table), {})[str(name)] = TargetColumn(
            name=str(name),
            type_name=str(type_name),
            base=str(base),
            is_enum=bool(is_enum),
            not_null=bool(not_null),
            has_default=bool(has_default),
            max_length=int(length) if length is not None else None,
            labels=tuple(_labels(labels)),
            unique=bool(unique),
            references=references.get((str(table), str(name))),
        )
    keys: dict[str, list[tuple[str, ...]]] = {}
    for table, columns in fetch_all(conn, _KEYS_SQL, (schema,)):
        keys.setdefault(str(table), []).append(tuple(str(c) for c in _labels(columns)))
    return Catalog(
        schema,
        {t: TargetTable(t, cols, tuple(keys.get(t, ()))) for t, cols in tables.items()},
    )


def _labels(value: object) -> list[str]:
    """A text[] as the driver returns it (a list, or its text form '{A,B}')."""
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    text = str(value).strip("{}")
    return [part.strip('"') for part in text.split(",")] if text else []


_CONSTRAINTS_SQL = """
SELECT con.contype, con.conname, rel.relname, pg_get_constraintdef(con.oid), n.nspname,
       CASE WHEN con.contype IN ('p', 'u') AND NOT con.condeferrable AND ic.relname = con.conname
            AND pg_get_constraintdef(con.oid) NOT LIKE '% TABLESPACE %'
            THEN pg_get_indexdef(con.conindid) END
FROM pg_constraint con
LEFT JOIN pg_class ic ON ic.oid = con.conindid
JOIN pg_class rel ON rel.oid = con.conrelid
JOIN pg_namespace n ON n.oid = rel.relnamespace
LEFT JOIN pg_class ref ON ref.oid = con.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = ref.relnamespace
WHERE con.contype IN ('p', 'u', 'f')
  AND ((n.nspname = $1 AND rel.relname = ANY($2::text[]))
       OR (rn.nspname = $1 AND ref.relname = ANY($2::text[])))
"""
_INDEXES_SQL = """
SELECT ic.relname, rel.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class rel ON rel.oid = i.indrelid
JOIN pg_namespace n ON n.oid = rel.relnamespace
WHERE n.nspname = $1 AND rel.relname = ANY($2::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                  AND c.contype IN ('p', 'u', 'x'))
"""
_KINDS = {"p": "primary key", "u": "unique", "f": "foreign key"}


def text_array(names: list[str]) -> str:
    return (
        "{" + ",".join('"' + n.replace("\\", "\\\\").replace('"', '\\"') + '"' for n in names) + "}"
    )


def saved_objects(conn: Connection, schema: str, tables: list[str]) -> list[SavedObject]:
    """Primary keys, unique constraints, foreign keys and the other indexes of `tables`, each
    with the statement that recreates it exactly (pg_get_constraintdef / pg_get_indexdef)."""
    out: list[SavedObject] = []
    for kind, name, table, definition, home, index_definition in fetch_all(
        conn, _CONSTRAINTS_SQL, (schema, text_array(tables))
    ):
        target = f"{quote_ident(str(home))}.{quote_ident(str(table))}"
        out.append(
            SavedObject(
                _KINDS[str(kind)],
                str(name),
                str(table),
                f"ALTER TABLE {target} ADD CONSTRAINT {quote_ident(str(name))} {definition}",
                str(home),
                str(index_definition or ""),
            )
        )
    for name, table, definition in fetch_all(conn, _INDEXES_SQL, (schema, text_array(tables))):
        out.append(SavedObject("index", str(name), str(table), str(definition), schema))
    return sorted(out, key=lambda o: o.sort_key)


def drop_sql(schema: str, obj: SavedObject) -> str:
    """The statement that drops a saved object."""
    home = obj.table_schema or schema
    if obj.kind == "index":
        return f"DROP INDEX IF EXISTS {quote_ident(home)}.{quote_ident(obj.name)}"
    return (
        f"ALTER TABLE {quote_ident(home)}.{quote_ident(obj.table)} "
        f"DROP CONSTRAINT IF EXISTS {quote_ident(obj.name)}"
    )
