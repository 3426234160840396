"""The mapped load's post-load steps, run in parallel over the pool: a foreign key the data
breaks is reported in one line naming it and the load is not marked complete; every table gets
its own autovacuum setting back (paused during the load), also after a --replace of a load that
stopped; the catalog is then what the migrations made."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.paths import SYNTHGEN
from support.pg import query, run_sql

MakeSchema = Callable[..., tuple[str, Path]]
# a foreign key the data must break: message texts are no users' e-mail addresses
BAD_FK = "Message_content_fkey"


def _load(dataset: Path, dsn: str, mapping: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["load", str(dataset), "--dsn", dsn, "--mapping", str(mapping), "--jobs", "2",
            "--quiet", *extra]  # fmt: skip
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=600)


def _settings(dsn: str, schema: str) -> dict[str, list[str] | None]:
    """Each table's storage parameters (in any order: setting one again moves it last)."""
    rows = query(
        dsn,
        "SELECT c.relname, c.reloptions FROM pg_class c JOIN pg_namespace n ON "
        f"n.oid = c.relnamespace WHERE n.nspname = '{schema}' AND c.relkind = 'r'",
    )
    return {str(name): sorted(options) if options else None for name, options in rows}


def _fks(dsn: str, schema: str) -> dict[str, bool]:
    rows = query(
        dsn,
        "SELECT conname, convalidated FROM pg_constraint c JOIN pg_namespace n ON "
        f"n.oid = c.connamespace WHERE n.nspname = '{schema}' AND contype = 'f'",
    )
    return {str(name): bool(valid) for name, valid in rows}


def test_a_broken_foreign_key_stops_the_load_in_one_line_and_nothing_is_marked_done(
    app_dataset: Path,
    pg_dsn: str,
    app_schema: MakeSchema,
    tmp_path: Path,
    unsettled_pages: Any,
) -> None:
    schema, mapping = app_schema("app_post", tmp=tmp_path)
    run_sql(
        pg_dsn,
        f'ALTER TABLE {schema}."Message" SET (autovacuum_enabled = false, fillfactor = 90)',
        f'ALTER TABLE {schema}."Message" ADD CONSTRAINT "{BAD_FK}" FOREIGN KEY '
        f'("content") REFERENCES {schema}."User"(email)',
    )
    before = _settings(pg_dsn, schema)
    assert before["Message"] == ["autovacuum_enabled=false", "fillfactor=90"]
    assert before["User"] is None

    failed = _load(app_dataset, pg_dsn, mapping)
    assert failed.returncode == 1, failed.stderr
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), failed.stderr
    assert f"the data breaks constraint '{BAD_FK}'" in lines[0]
    assert f'violates foreign key constraint "{BAD_FK}"' in lines[0]
    # the mapping entry that filled the column, and --replace: a resume would break it again
    assert "(filled by Message.content <- tables.messages.columns.content)" in lines[0]
    assert lines[0].endswith("fix the mapping and load again with --replace")
    assert "--resume" not in lines[0]
    status = query(pg_dsn, f"SELECT status, stopped_at FROM synthgen_{schema}.synthgen_loads")
    assert len(status) == 1 and status[0][0] == "failed" and BAD_FK in status[0][1]
    # all ten are there, the broken one NOT VALID (no new validation starts after a failure)
    fks = _fks(pg_dsn, schema)
    assert len(fks) == 10 and fks[BAD_FK] is False
    # every table has its own autovacuum setting back (off only during the load)
    assert _settings(pg_dsn, schema) == before

    # the migrations' foreign key dropped, a --replace loads it again and completes, from the
    # definitions the stopped load recorded (autovacuum settings included)
    run_sql(pg_dsn, f'ALTER TABLE {schema}."Message" DROP CONSTRAINT "{BAD_FK}"')
    run_sql(pg_dsn, f'ALTER TABLE {schema}."Message" SET (autovacuum_enabled = off)')
    replaced = _load(app_dataset, pg_dsn, mapping, "--replace", "--json")
    assert replaced.returncode == 1, replaced.stderr
    assert BAD_FK in replaced.stderr  # recorded as the migrations made it: recreated, broken
    assert _settings(pg_dsn, schema) == before  # the recorded setting, not the paused one
    run_sql(
        pg_dsn,
        f'ALTER TABLE {schema}."Message" DROP CONSTRAINT "{BAD_FK}"',
        f"DELETE FROM synthgen_{schema}.synthgen_saved_objects WHERE name = '{BAD_FK}'",
    )
    resumed = _load(app_dataset, pg_dsn, mapping, "--resume", "--json")
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert (
        report["shards_loaded"] == 0 and "counts, vacuum (analyze), index builds" in report["steps"]
    )
    assert _settings(pg_dsn, schema) == before
    fks = _fks(pg_dsn, schema)
    assert len(fks) == 9 and all(fks.values())
    statuses = [r[0] for r in query(pg_dsn, f"SELECT status FROM synthgen_{schema}.synthgen_loads "
                                    "ORDER BY load_id")]  # fmt: skip
    assert statuses[-1] == "complete"
    # settled: the vacuum before the index builds set the visibility map on every page but the
    # all-zero ones bulk extension may leave at the end on PostgreSQL 16+ (tests/conftest.py)
    found = unsettled_pages(pg_dsn, f'{schema}."Message"')
    assert found["not_visible"] == [], found
    pages, visible = query(
        pg_dsn,
        f"SELECT relpages, relallvisible FROM pg_class "
        f"WHERE oid = '{schema}.\"Message\"'::regclass",
    )[0]
    assert visible == pages - len(found["all_zero"]) and pages > 0
