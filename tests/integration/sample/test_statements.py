"""`synthgen sample statements` against the sampler's test production with pg_stat_statements.

A throwaway cluster of its own (pg_stat_statements must be in shared_preload_libraries, which
the session's cluster does not load) holds the sampler's production database; the harness runs a
known statement mix with bound parameters, then the installed `synthgen` captures it as the
SELECT-only role. The round trip runs the captured files with `verify baseline` against a
generated dataset loaded into the same schema through the same mapping.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from adbc_driver_postgresql import dbapi

from support.production import (
    HERE,
    MAPPING,
    SCHEMA,
    execute,
    production_sql,
    query,
    with_database,
)
from synthgen.verify.production import production_numbers, todo_lines
from synthgen.verify.queries import load_queries, parse_query

SYNTHGEN = str(Path(sys.executable).parent / "synthgen")
# the known mix: (calls, SQL with bound parameters, a function of the call number -> parameters)
M_ROOM = "SELECT p.id, p.body, p.created_at FROM app.posts p WHERE p.chat_id = $1 ORDER BY p.created_at DESC LIMIT 50"  # noqa: E501
M_USER = (
    "SELECT c.id, c.title, m.member_role FROM app.chat_members m JOIN app.chats c "
    "ON c.id = m.chat_id WHERE m.account_id = $1 AND m.active ORDER BY c.created_at DESC LIMIT 20"
)
M_PAGE = (
    "SELECT id, body FROM app.posts WHERE chat_id = $1 AND created_at < $2 "
    "ORDER BY created_at DESC LIMIT 50"
)
M_READS = "SELECT count(*) FROM app.post_reads r WHERE r.post_id = $1"
M_WRITE = "UPDATE app.chat_members SET active = active WHERE chat_id = $1 AND account_id = $2"
SECRET_EMAIL = "maria.garcia7@northwind-mail.com"
# without bound parameters the driver reads the result with COPY (query) TO STDOUT, a utility
# statement whose text pg_stat_statements keeps with its literal
LITERAL = f"SELECT id FROM app.accounts WHERE email_address = '{SECRET_EMAIL}'"
CALLS = {"room": 40, "user": 25, "page": 10, "reads": 5, "write": 3}


@dataclass(frozen=True)
class StatementProduction:
    server_dsn: str  # superuser on the cluster's default database
    admin_dsn: str
    reader_dsn: str
    mapping_path: Path


def _preload(dsn: str, directory: Path) -> None:
    """Add pg_stat_statements to shared_preload_libraries and restart the cluster."""
    from synthgen.postgres.cluster import ensure_cluster, stop_cluster

    available = query(
        dsn, "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_stat_statements'"
    )[0][0]
    if not available:
        version = query(dsn, "SELECT current_setting('server_version')")[0][0]
        pytest.fail(
            f"PostgreSQL {version} here does not ship pg_stat_statements: the capture test needs "
            "it (PostgreSQL 15's contrib has it)",
            pytrace=False,
        )
    current = [
        v
        for v in query(dsn, "SELECT current_setting('shared_preload_libraries')")[0][0].split(",")
        if v
    ]
    libraries = ", ".join(f"'{v.strip()}'" for v in [*current, "pg_stat_statements"])
    execute(dsn, [f"ALTER SYSTEM SET shared_preload_libraries = {libraries}"], True)
    stop_cluster(directory)
    ensure_cluster(directory)


def _run_mix(admin: str) -> None:
    t0 = datetime.now(UTC)
    with dbapi.connect(admin, autocommit=True) as conn, conn.cursor() as cur:
        mix: list[tuple[str, int, Callable[[int], tuple[object, ...]]]] = [
            (M_ROOM, CALLS["room"], lambda i: (1 + i % 900,)),
            (M_USER, CALLS["user"], lambda i: (1 + i % 500,)),
            (M_PAGE, CALLS["page"], lambda i: (1 + i % 900, t0 - timedelta(days=i))),
            (M_READS, CALLS["reads"], lambda i: (1 + i,)),
            (M_WRITE, CALLS["write"], lambda i: (1 + i, 1 + i)),
        ]
        for sql, calls, params in mix:
            for i in range(calls):
                cur.execute(sql, params(i))
                if cur.description is not None:
                    cur.fetchall()
        cur.execute("SELECT 1")  # names no mapped table
        cur.fetchall()
        cur.execute(LITERAL)
        cur.fetchall()


@pytest.fixture(scope="session")
def statement_production(
    pg_cluster_dir_factory: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> StatementProduction:
    from synthgen.postgres.cluster import ensure_cluster

    directory = pg_cluster_dir_factory("pgss")
    server = ensure_cluster(directory).dsn
    _preload(server, directory)
    database, role = "synthgen_statements_prod", "synthgen_statements_reader"
    admin = with_database(server, database)
    execute(server, [f"CREATE DATABASE {database}"], True)
    t0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    execute(admin, production_sql(SCHEMA, t0))
    execute(
        admin,
        [
            # in a schema of its own, off the search_path: the capture finds it there
            "CREATE SCHEMA monitoring",
            "CREATE EXTENSION pg_stat_statements SCHEMA monitoring",
            f"CREATE ROLE {role} LOGIN",
            f"GRANT pg_read_all_stats TO {role}",
            f"GRANT USAGE ON SCHEMA monitoring TO {role}",
            f"GRANT USAGE ON SCHEMA {SCHEMA} TO {role}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {role}",
            "SELECT monitoring.pg_stat_statements_reset()",  # forget building production
        ],
    )
    _run_mix(admin)
    mapping_path = tmp_path_factory.mktemp("pgss-mapping") / "mapping.json"
    mapping_path.write_text(json.dumps(MAPPING))
    return StatementProduction(server, admin, with_database(server, database, role), mapping_path)


def synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SYNTHGEN, *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def captured(
    statement_production: StatementProduction, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("captured") / "statements"
    p = statement_production
    args = ["--dsn", p.reader_dsn, "--mapping", str(p.mapping_path), "--by", "calls"]
    proc = synthgen("sample", "statements", *args, "--top", "10", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def _by_calls(out: Path) -> dict[int, Path]:
    files = [*out.glob("*.sql"), *(out / "writes").glob("*.sql")]
    numbers = {f: production_numbers(f) for f in files}
    return {int(n["calls"]): f for f, n in numbers.items() if n is not None}


def test_capture_finds_the_mix_with_kinds(captured: Path) -> None:
    files = _by_calls(captured)
    assert sorted(files) == sorted(CALLS.values())
    room = parse_query(files[CALLS["room"]])
    assert room.key == "q1" and [(p.type, p.kind) for p in room.params] == [
        ("bigint", "conversation")
    ]
    assert "LIMIT 50" in room.sql and "$2" not in room.sql
    assert any("-- limit: LIMIT 50" in ln for ln in files[CALLS["room"]].read_text().splitlines())
    user = parse_query(files[CALLS["user"]])
    assert user.key == "q2" and [p.kind for p in user.params] == ["user"]
    page = parse_query(files[CALLS["page"]])
    assert [(p.type, p.kind) for p in page.params] == [
        ("bigint", "conversation"),
        ("timestamptz", "conversation_cursor"),
    ]
    write = files[CALLS["write"]]
    assert write.parent.name == "writes" and write.name.startswith("w3_")
    assert sorted(p.kind for p in parse_query(write).params) == [
        "member_conversation",
        "member_user",
    ]


def test_uninferable_parameter_is_a_todo_left_out_and_reported(captured: Path) -> None:
    reads = _by_calls(captured)[CALLS["reads"]]
    assert todo_lines(reads) and "$1" in todo_lines(reads)[0]
    keys = [q.key for q in load_queries(captured)]
    assert keys == ["q1", "q2", "q3"]  # q4 (the todo) is left out, writes are not reads
    proc = synthgen("verify", "queries", "--queries", str(captured))
    assert proc.returncode == 0, proc.stderr
    assert f"skipped {reads}: -- todo: $1" in proc.stderr
    audit = json.loads((captured / "statements.audit.json").read_text())
    assert audit["statements"]["todo"] == 1


def test_captured_weights_are_calls_over_total_calls(captured: Path) -> None:
    total = sum(CALLS.values())
    for calls, path in _by_calls(captured).items():
        numbers = production_numbers(path)
        assert numbers is not None
        assert numbers["share_calls"] == pytest.approx(calls / total, abs=1e-6)
        assert numbers["mean_ms"] > 0 and numbers["total_ms"] >= numbers["mean_ms"]
    room = production_numbers(_by_calls(captured)[CALLS["room"]])
    assert room is not None and 0 < room["rows_per_call"] <= 50


def test_literal_statement_is_dropped_counted_and_never_written(
    captured: Path, statement_production: StatementProduction
) -> None:
    texts = query(
        statement_production.admin_dsn,
        "SELECT query FROM monitoring.pg_stat_statements WHERE query LIKE '%app.%' "
        "AND position('''' in query) > 0 AND dbid = (SELECT oid FROM pg_database "
        "WHERE datname = current_database())",
    )
    kept = len(texts)
    assert kept >= 1  # pg_stat_statements kept the COPY's literal
    audit = json.loads((captured / "statements.audit.json").read_text())
    assert audit["statements"]["dropped_literal"] == kept
    outputs = [p for p in captured.rglob("*") if p.is_file()]
    assert len(outputs) == 6  # five statements and the audit record
    for path in outputs:
        data = path.read_bytes()
        for needle in (SECRET_EMAIL, "northwind-mail", "email_address", "COPY"):
            assert needle.encode() not in data, (path, needle)


def test_missing_extension_is_one_line_exit_1(pg_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "never"
    proc = synthgen("sample", "statements", "--dsn", pg_dsn, "--out", str(out))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "shared_preload_libraries" in lines[0]
    assert "CREATE EXTENSION pg_stat_statements" in lines[0]
    assert not out.exists()


def test_extension_created_but_not_preloaded_is_one_line_exit_1(
    pg_dsn: str, tmp_path: Path
) -> None:
    database = "synthgen_statements_not_loaded"
    execute(pg_dsn, [f"DROP DATABASE IF EXISTS {database}", f"CREATE DATABASE {database}"], True)
    dsn = with_database(pg_dsn, database)
    try:
        execute(dsn, ["CREATE EXTENSION pg_stat_statements"])
        proc = synthgen("sample", "statements", "--dsn", dsn, "--out", str(tmp_path / "never"))
    finally:
        execute(pg_dsn, [f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], True)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "add pg_stat_statements to shared_preload_libraries" in lines[0]
    assert not (tmp_path / "never").exists()


def test_dry_run_writes_nothing(statement_production: StatementProduction, tmp_path: Path) -> None:
    out = tmp_path / "dry"
    p = statement_production
    args = ["--dsn", p.reader_dsn, "--mapping", str(p.mapping_path), "--by", "calls"]
    proc = synthgen("sample", "statements", *args, "--dry-run", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "would write 5 query files" in proc.stdout
    assert not out.exists()


def _app_tables(schema: str) -> list[str]:
    text = (HERE / "production.sql").read_text().replace("$schema", schema)
    return [f"CREATE SCHEMA {schema}", *re.findall(r"CREATE TABLE .*?\);", text, re.S)]


@dataclass(frozen=True)
class RoundTrip:
    target: str
    mapping: str
    captured: Path
    pre_path: Path
    baseline: dict[str, Any]
    baseline_stderr: str
    workload: dict[str, Any]
    workload_stderr: str
    loadtest: dict[str, Any]


@pytest.fixture(scope="session")
def round_trip(
    captured: Path,
    statement_production: StatementProduction,
    tmp_path_factory: pytest.TempPathFactory,
) -> RoundTrip:
    """A generated dataset loaded into production's schema (through the same mapping), the
    captured files measured on it, and a short load test replaying production's mix."""
    from synthgen.generate.build import BuildOptions, build_dataset
    from synthgen.spec import load_spec

    root = tmp_path_factory.mktemp("round-trip")
    target = with_database(statement_production.server_dsn, "synthgen_statements_target")
    execute(statement_production.server_dsn, ["CREATE DATABASE synthgen_statements_target"], True)
    execute(target, _app_tables(SCHEMA))
    build_dataset(load_spec(), BuildOptions("dev", 0.01, "roundtrip", root / "ds", workers=1))
    common = ["--dsn", target, "--mapping", str(statement_production.mapping_path)]
    load = synthgen("load", str(root / "ds"), *common, "--quiet")
    assert load.returncode == 0, load.stderr
    out = root / "baseline-pre.json"
    base = synthgen("verify", "baseline", "--label", "pre", *common, "--queries", str(captured),
                    "--runs", "3", "--explain-runs", "1", "--plan-mode", "custom", "--out",
                    str(out), "--quiet")  # fmt: skip
    assert base.returncode == 0, base.stderr
    # no --mix: the captured files carry production's calls, which become the weights
    made = synthgen("workload", *common, "--queries", str(captured), "--out", str(root / "w"),
                    "--json")  # fmt: skip
    assert made.returncode == 0, made.stderr
    ran = synthgen("loadtest", "--workload", str(root / "w"), "--dsn", target, "--clients", "2",
                   "--duration", "8", "--out", str(root / "lt.json"))  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    return RoundTrip(
        target,
        str(statement_production.mapping_path),
        captured,
        out,
        json.loads(out.read_text()),
        base.stderr,
        json.loads(made.stdout),
        made.stderr,
        json.loads((root / "lt.json").read_text()),
    )


def test_round_trip_verify_baseline_runs_captured_files(round_trip: RoundTrip) -> None:
    doc = round_trip.baseline
    assert sorted({r["query"] for r in doc["results"]}) == ["q1", "q2", "q3"]
    assert all(r["client_ms"]["p50"] > 0 for r in doc["results"])
    assert doc["production"]["q1"]["calls"] == CALLS["room"]
    assert doc["production"]["q2"]["calls"] == CALLS["user"]
    assert "skipped" in round_trip.baseline_stderr and "q4_" in round_trip.baseline_stderr


def test_workload_replays_productions_mix(round_trip: RoundTrip) -> None:
    runnable = {"Q1": CALLS["room"], "Q2": CALLS["user"], "Q3": CALLS["page"],
                "W3": CALLS["write"]}  # fmt: skip
    assert round_trip.workload["mix"] == runnable  # q4 is a todo: not in the mix
    assert "skipped" in round_trip.workload_stderr and "q4_" in round_trip.workload_stderr
    assert round_trip.workload["scripts"]["W3"]["kind"] == "write"
    steps = round_trip.loadtest["steps"]
    assert all(step["errors"] == 0 for step in steps), steps
    counts = {k: sum(s["queries"][k]["transactions"] for s in steps) for k in runnable}
    n = sum(counts.values())
    assert n > 200, counts
    whole = sum(runnable.values())
    for key, calls in runnable.items():
        # each transaction draws a script with chance calls / all calls: a binomial count
        p = calls / whole
        assert abs(counts[key] - n * p) <= 4 * math.sqrt(n * p * (1 - p)), (key, counts)


def test_targeted_index_change_shows_production_weights(
    round_trip: RoundTrip, tmp_path: Path
) -> None:
    script = tmp_path / "phase-2.sql"
    script.write_text(
        "-- targets: Q1\n"
        "CREATE INDEX CONCURRENTLY posts_chat_created ON app.posts (chat_id, created_at DESC);\n"
    )
    common = ["--dsn", round_trip.target]
    applied = synthgen("indexes", "apply", *common, "--schema", SCHEMA, "--file", str(script),
                       "--quiet")  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    post = tmp_path / "baseline-post.json"
    measured = synthgen("verify", "baseline", "--label", "post", *common, "--mapping",
                        round_trip.mapping, "--queries", str(round_trip.captured), "--runs", "3",
                        "--explain-runs", "1", "--plan-mode", "custom", "--params-from",
                        str(round_trip.pre_path), "--out", str(post), "--quiet")  # fmt: skip
    assert measured.returncode == 0, measured.stderr
    compared = synthgen("verify", "compare", str(round_trip.pre_path), str(post), "--indexes",
                        str(script), "--json", str(tmp_path / "compare.json"))  # fmt: skip
    # production's schema has no index: Q1 goes from a scan and sort of every post to an index
    # scan; with 3 runs a rank test cannot reach p < 0.01, so no query can count as degraded
    assert compared.returncode == 0, compared.stdout + compared.stderr
    doc = json.loads((tmp_path / "compare.json").read_text())
    assert doc["decision"] == "GO"
    assert doc["targets"] == ["q1"]
    assert doc["thresholds"].startswith("thresholds: each targeted query (Q1) improves >= 30%")
    rows = {r["query"]: r for r in doc["queries"]}
    assert rows["q1"]["calls"] == CALLS["room"] and rows["q1"]["targeted"]
    assert rows["q1"]["indexes"] == ["posts_chat_created"]
    total = sum(CALLS[k] for k in ("room", "user", "page"))
    shares = {q: r["share_time"] for q, r in rows.items()}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert rows["q2"]["share_calls"] == pytest.approx(CALLS["user"] / sum(CALLS.values()), abs=1e-6)
    assert doc["weighted_improvement"] is not None and total == 75
    assert rows["q1"]["improvement"] >= 0.30
    line = next(ln for ln in compared.stdout.splitlines() if ln.endswith("(target)"))
    assert line.split()[:2] == ["Q1", str(CALLS["room"])]
    assert "posts_chat_created (target)" in line
