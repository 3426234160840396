"""The production guard before every command that writes to a database, through the installed
`synthgen` executable: each rule refuses with the same one line and exit 1, leaving the database
as it was; --i-know-this-is-not-production lets the command do its work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from synthgen.load.contract import LoadOptions, load_dataset
from synthgen.postgres.guard import GuardSettings
from synthgen.schema import TABLES
from synthgen.verify.indexes import DEFAULT_ROLLBACK, run_script

pytestmark = pytest.mark.postgres

DATABASE = "guard_cmds"  # no "prod" in it: each rule is set off on purpose below
SCHEMA = "guarded"
PHASE_2 = [
    "idx_conversation_users_user_active",
    "idx_conversations_updated_desc",
    "idx_messages_conversation_created_desc",
]
OVERRIDE = "--i-know-this-is-not-production"
SUFFIX = f"; refusing to touch this database (pass {OVERRIDE} if it is not production)"


def _refusals(schema: str) -> dict[str, tuple[dict[str, str], list[str], str]]:
    """rule -> (environment, flags, the refusal) for a command aimed at `schema`."""
    return {
        "environment": (
            {"SYNTHGEN_ENV": "production"},
            [],
            "production guard (environment): SYNTHGEN_ENV=production",
        ),
        "deny-pattern": (
            {},
            ["--deny-pattern", "_cmds$"],
            f"production guard (deny-pattern): database name '{DATABASE}' matches '_cmds$'",
        ),
        "foreign-rows": (
            {},
            ["--max-foreign-rows", "1000"],
            f"production guard (foreign-rows): table public.app_events outside schema "
            f"'{schema}' holds more than 1,000 rows",
        ),
    }


# Every rule set off at once, and the override: the command must still run.
EVERY_RULE = ["--deny-pattern", "_cmds$", "--max-foreign-rows", "1000", OVERRIDE]

Synthgen = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def synthgen(tmp_path_factory: pytest.TempPathFactory) -> Synthgen:
    """Run the installed console script (not CliRunner): real exit codes, real stderr."""
    executable = Path(sys.executable).with_name("synthgen")
    assert executable.is_file(), f"{executable}: the console script is not installed"
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SYNTHGEN_ENV", "NODE_ENV", "SYNTHGEN_DSN", "SYNTHGEN_DENY_PATTERN"}
    }
    default_cwd = tmp_path_factory.mktemp("guard-cwd")

    def invoke(
        *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(executable), *args],
            capture_output=True,
            text=True,
            check=False,
            env={**clean, **(env or {})},
            cwd=cwd or default_cwd,
            timeout=600,
        )

    return invoke


@pytest.fixture(scope="module")
def target(
    database: Callable[[str], str], sql_for: Callable[[str], Any], dataset_one_shard: Path
) -> str:
    """A scratch database: a loaded synthgen schema, and 1001 rows of someone else's in public."""
    dsn = database(DATABASE)
    sql = sql_for(dsn)
    load_dataset(LoadOptions(dataset_one_shard, dsn, schema=SCHEMA, jobs=2, guard=GuardSettings()))
    sql("CREATE TABLE public.app_events AS SELECT g AS id FROM generate_series(1, 1001) g")
    sql("ANALYZE public.app_events")
    return dsn


def _assert_refused_by_every_rule(
    synthgen: Synthgen, args: list[str], schema: str, state: Callable[[], Any]
) -> None:
    before = state()
    for rule, (env, flags, refusal) in _refusals(schema).items():
        proc = synthgen(*args, *flags, env=env)
        assert proc.returncode == 1, (rule, proc.stdout, proc.stderr)
        assert proc.stderr.splitlines() == [f"error: {refusal}{SUFFIX}"], rule
        assert state() == before, f"{rule}: the database changed"


def _indexes(sql: Any, schema: str) -> list[str]:
    rows = sql("SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY 1", schema)
    return [name for (name,) in rows]


def test_indexes_apply_is_guarded(
    synthgen: Synthgen, target: str, sql_for: Callable[[str], Any], tmp_path: Path
) -> None:
    sql = sql_for(target)
    run_script(target, SCHEMA, DEFAULT_ROLLBACK)  # phase 1 only, whatever ran before
    assert not set(PHASE_2) & set(_indexes(sql, SCHEMA))
    args = ["indexes", "apply", "--dsn", target, "--schema", SCHEMA, "--quiet"]
    _assert_refused_by_every_rule(synthgen, args, SCHEMA, lambda: _indexes(sql, SCHEMA))

    # Any --file is guarded the same way: this one would create a table.
    script = tmp_path / "any-file.sql"
    script.write_text(f"CREATE TABLE {SCHEMA}.planted (id int);\n")
    file_args = ["indexes", "apply", "--file", str(script), "--dsn", target, "--schema", SCHEMA]
    tables = "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'planted'"
    _assert_refused_by_every_rule(synthgen, file_args, SCHEMA, lambda: sql(tables, SCHEMA))

    proc = synthgen(*args, *EVERY_RULE, env={"SYNTHGEN_ENV": "production"})
    assert proc.returncode == 0, proc.stderr
    assert set(PHASE_2) <= set(_indexes(sql, SCHEMA))


def test_indexes_rollback_is_guarded(
    synthgen: Synthgen, target: str, sql_for: Callable[[str], Any]
) -> None:
    sql = sql_for(target)
    apply = ["indexes", "apply", "--dsn", target, "--schema", SCHEMA, "--quiet", OVERRIDE]
    assert synthgen(*apply).returncode == 0
    built = _indexes(sql, SCHEMA)
    assert set(PHASE_2) <= set(built)
    args = ["indexes", "rollback", "--dsn", target, "--schema", SCHEMA, "--quiet"]
    _assert_refused_by_every_rule(synthgen, args, SCHEMA, lambda: _indexes(sql, SCHEMA))

    proc = synthgen(*args, *EVERY_RULE, env={"NODE_ENV": "production"})
    assert proc.returncode == 0, proc.stderr
    assert _indexes(sql, SCHEMA) == [name for name in built if name not in PHASE_2]


def test_verify_baseline_is_guarded(
    synthgen: Synthgen, target: str, sql_for: Callable[[str], Any], tmp_path: Path
) -> None:
    sql = sql_for(target)
    out = tmp_path / "baseline-pre.json"

    def analysed() -> tuple[Any, ...]:
        # ANALYZE is the baseline's first write after the warm-up; the file is its last.
        rows = sql(
            "SELECT relname, analyze_count, last_analyze FROM pg_stat_user_tables "
            "WHERE schemaname = $1 ORDER BY 1",
            SCHEMA,
        )
        return tuple(rows), out.exists()

    args = ["verify", "baseline", "--label", "pre", "--runs", "1", "--out", str(out)]
    args += ["--dsn", target, "--schema", SCHEMA, "--quiet"]
    before, _ = analysed()
    _assert_refused_by_every_rule(synthgen, args, SCHEMA, analysed)

    proc = synthgen(*args, *EVERY_RULE, env={"SYNTHGEN_ENV": "production"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["label"] == "pre"
    after, _ = analysed()
    counts_before = {name: count for name, count, _ in before}
    counts_after = {name: count for name, count, _ in after}
    for name in TABLES:  # analysed once more, by the baseline
        assert counts_after[name] == counts_before[name] + 1, name


def test_run_is_guarded(
    synthgen: Synthgen, target: str, sql_for: Callable[[str], Any], tmp_path: Path
) -> None:
    sql = sql_for(target)
    schema, out = "guarded_run", tmp_path / "run"
    args = ["run", "--band", "dev", "--scale", "0.03", "--seed", "guard", "--out", str(out)]
    args += ["--dsn", target, "--schema", schema, "--runs", "1", "--workers", "2"]
    exists = "SELECT count(*) FROM pg_namespace WHERE nspname = $1"
    # Refused before anything at all: no schema, and not even the run directory.
    _assert_refused_by_every_rule(
        synthgen, args, schema, lambda: (sql(exists, schema), out.exists())
    )

    proc = synthgen(*args, *EVERY_RULE, env={"SYNTHGEN_ENV": "production"})
    # dev x 0.03, seed 'guard': both gates GO, exit 0
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "compare.json").read_text())["decision"] == "GO"
    counts = json.loads((out / "dataset" / "manifest.json").read_text())["counts"]
    assert sql(f"SELECT count(*) FROM {schema}.messages") == [(counts["messages"],)]
    assert set(PHASE_2) <= set(_indexes(sql, schema))
    sql(f"DROP SCHEMA {schema} CASCADE")


def test_teardown_is_guarded(
    synthgen: Synthgen, target: str, sql_for: Callable[[str], Any]
) -> None:
    sql = sql_for(target)
    schema = "guarded_teardown"
    sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    sql(f"CREATE SCHEMA {schema}")  # what teardown recognises as synthgen's: an audit table
    sql(f"CREATE TABLE {schema}.synthgen_loads (load_id bigint)")
    sql(f"CREATE TABLE {schema}.messages AS SELECT g AS id FROM generate_series(1, 50) g")
    args = ["teardown", "--dsn", target, "--schema", schema, "--yes"]
    tables = "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1"
    assert sql(tables, schema) == [("messages",), ("synthgen_loads",)]
    _assert_refused_by_every_rule(synthgen, args, schema, lambda: sql(tables, schema))

    proc = synthgen(*args, *EVERY_RULE, env={"NODE_ENV": "production"})
    assert proc.returncode == 0, proc.stderr
    assert f"dropped schema {schema}" in proc.stdout
    assert sql("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema) == [(0,)]


def test_load_is_guarded(
    synthgen: Synthgen, target: str, sql_for: Callable[[str], Any], dataset_one_shard: Path
) -> None:
    sql = sql_for(target)
    schema = "guarded_load"
    args = ["load", str(dataset_one_shard), "--dsn", target, "--schema", schema, "--quiet"]
    exists = "SELECT count(*) FROM pg_namespace WHERE nspname = $1"
    _assert_refused_by_every_rule(synthgen, args, schema, lambda: sql(exists, schema))
    proc = synthgen(*args, "--jobs", "1", *EVERY_RULE, env={"SYNTHGEN_ENV": "production"})
    assert proc.returncode == 0, proc.stderr
    assert sql(f"SELECT count(*) FROM {schema}.messages") == [(100_000,)]
    sql(f"DROP SCHEMA {schema} CASCADE")


@pytest.mark.parametrize(
    "command",
    [
        ["load", "DATASET"],
        ["teardown", "--yes"],
        ["verify", "baseline", "--label", "pre"],
        ["indexes", "apply"],
        ["indexes", "rollback"],
        ["run", "--band", "dev", "--scale", "0.01"],
    ],
    ids=lambda c: " ".join(c[:2]) if c[0] in {"verify", "indexes"} else c[0],
)
def test_production_environment_never_starts_a_local_cluster(
    command: list[str], synthgen: Synthgen, tmp_path: Path, dataset_one_shard: Path
) -> None:
    args = [str(dataset_one_shard) if a == "DATASET" else a for a in command]
    proc = synthgen(*args, env={"NODE_ENV": "production"}, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: production guard (environment): NODE_ENV=production{SUFFIX}"
    ]
    assert list(tmp_path.iterdir()) == []  # no .synthgen/postgres, no run directory
