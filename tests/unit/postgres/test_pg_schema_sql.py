"""specs/schema.sql is generated from synthgen/schema.py and must not drift from it."""

from __future__ import annotations

from pathlib import Path

from synthgen.schema import (
    TABLES,
    foreign_key_name,
    foreign_key_sql,
    primary_key_name,
    primary_key_sql,
    schema_sql,
    validate_foreign_key_sql,
)

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "specs" / "schema.sql"


def test_committed_schema_sql_equals_the_generated_text() -> None:
    assert SCHEMA_FILE.read_text() == schema_sql(), (
        "specs/schema.sql is stale; regenerate it with: python -c "
        "'import sys; from synthgen.schema import schema_sql; sys.stdout.write(schema_sql())' "
        "> specs/schema.sql"
    )


def test_schema_sql_has_every_table_key_and_phase1_index() -> None:
    text = schema_sql("perf_synthetic")
    for table in TABLES.values():
        assert f'CREATE TABLE "perf_synthetic"."{table.name}" (' in text
        assert f'"{primary_key_name(table)}" PRIMARY KEY' in text
        for column, _, _ in table.foreign_keys:
            assert f'"{foreign_key_name(table, column)}" FOREIGN KEY ("{column}")' in text
    assert 'CREATE INDEX "messages_conversationId_idx"' in text
    assert 'CREATE UNIQUE INDEX "users_email_key"' in text
    assert "NOT VALID" not in text
    assert '"createdAt" timestamptz NOT NULL' in text
    assert '"title" text,' in text  # nullable


def test_constraint_names_are_shared_by_add_and_validate() -> None:
    table = TABLES["messages"]
    assert primary_key_sql(table, "s").endswith('"messages_pkey" PRIMARY KEY ("id")')
    added, validated = foreign_key_sql(table, "s"), validate_foreign_key_sql(table, "s")
    assert len(added) == len(validated) == 2
    for add, check in zip(added, validated, strict=True):
        name = check.rsplit(" ", 1)[1]
        assert f"ADD CONSTRAINT {name} FOREIGN KEY" in add
        assert add.endswith("NOT VALID")
