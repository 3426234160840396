"""The managed PostgreSQL cluster, against real servers: settings, lifecycle, crashes, CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from adbc_driver_postgresql import dbapi
from click.testing import CliRunner

from synthgen.cli.postgres import postgres
from synthgen.errors import ClusterError
from synthgen.postgres.cluster import (
    cluster_status,
    ensure_cluster,
    find_server_binaries,
    mask_dsn,
    stop_cluster,
)
from synthgen.postgres.server import shared_buffers_mb

MANAGED = not os.environ.get("SYNTHGEN_TEST_DSN")
EXPECTED_MAJOR = {"system": 15, "embedded": 18}
managed_only = pytest.mark.skipif(not MANAGED, reason="checks synthgen's own cluster settings")


def _query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with dbapi.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def _show(dsn: str, name: str) -> str:
    # ADBC wraps queries in COPY, which SHOW cannot be part of.
    return str(_query(dsn, f"SELECT current_setting('{name}')")[0][0])


def _other_port(port: int) -> int:
    return port + 1 if port < 65535 else port - 1


# --- the session server -----------------------------------------------------------------------


def test_session_server_answers_version(pg_dsn: str) -> None:
    version = str(_query(pg_dsn, "SELECT version()")[0][0])
    version_num = int(_show(pg_dsn, "server_version_num"))
    assert version.startswith("PostgreSQL ")
    if MANAGED:
        binaries = find_server_binaries()
        assert version.startswith(f"PostgreSQL {binaries.version} ")
        # the system's server is Debian 12's PostgreSQL 15; the embedded one is 18
        assert version_num // 10000 == binaries.major == EXPECTED_MAJOR[binaries.source]
        wanted = os.environ.get("SYNTHGEN_TEST_PG")
        assert binaries.source == (wanted or binaries.source)


@managed_only
def test_session_server_runs_with_bulk_load_settings(pg_dsn: str) -> None:
    expected = {
        "listen_addresses": "127.0.0.1",
        "max_wal_size": "8GB",
        "checkpoint_timeout": "30min",
        "wal_level": "minimal",
        "max_wal_senders": "0",
        "synchronous_commit": "off",
        "fsync": "on",
        "maintenance_work_mem": "1GB",
        "work_mem": "64MB",
        "max_parallel_maintenance_workers": "2",
    }
    assert {name: _show(pg_dsn, name) for name in expected} == expected
    buffers = _query(
        pg_dsn,
        "SELECT setting::bigint * 8192 / 1048576 FROM pg_settings WHERE name = 'shared_buffers'",
    )[0][0]
    assert int(buffers) == shared_buffers_mb()
    assert 128 <= int(buffers) <= 4096
    pkglibdir = subprocess.run(
        [str(find_server_binaries().bindir / "pg_config"), "--pkglibdir"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    prewarm = (Path(pkglibdir) / "pg_prewarm.so").is_file()
    assert _show(pg_dsn, "shared_preload_libraries") == ("pg_prewarm" if prewarm else "")
    assert _query(pg_dsn, "SELECT current_database(), current_user")[0] == ("synthgen", "postgres")


# --- lifecycle on a separate cluster, so the session server stays up ------------------------


@pytest.fixture(scope="module")
def scratch_dir(pg_cluster_dir_factory: Any) -> Path:
    return Path(pg_cluster_dir_factory("lifecycle"))


def test_ensure_cluster_reuses_a_running_server(scratch_dir: Path) -> None:
    first = ensure_cluster(scratch_dir)
    again = ensure_cluster(scratch_dir)
    assert (again.started, again.port, again.pid) == (False, first.port, first.pid)
    assert json.loads((scratch_dir / "cluster.json").read_text())["port"] == first.port
    assert first.dsn == f"postgresql://postgres@127.0.0.1:{first.port}/synthgen"
    assert _query(first.dsn, "SELECT current_database()")[0][0] == "synthgen"

    status = cluster_status(scratch_dir)
    assert (status.running, status.initialized) == (True, True)
    assert (status.pid, status.port, status.dsn) == (first.pid, first.port, first.dsn)
    assert status.version == find_server_binaries().version

    with pytest.raises(ClusterError, match=f"already running on port {first.port}"):
        ensure_cluster(scratch_dir, port=_other_port(first.port))


def test_stop_then_status_then_restart_on_the_remembered_port(scratch_dir: Path) -> None:
    before = ensure_cluster(scratch_dir)
    assert stop_cluster(scratch_dir) is True
    status = cluster_status(scratch_dir)
    assert (status.running, status.pid, status.initialized) == (False, None, True)
    assert status.port == before.port  # remembered in cluster.json
    assert stop_cluster(scratch_dir) is False
    with pytest.raises(dbapi.Error):
        _query(before.dsn, "SELECT 1")

    after = ensure_cluster(scratch_dir)
    assert (after.started, after.port) == (True, before.port)
    assert after.pid != before.pid
    assert _query(after.dsn, "SELECT 1")[0][0] == 1


def test_start_with_a_stale_postmaster_pid_file(scratch_dir: Path) -> None:
    before = ensure_cluster(scratch_dir)
    pid_file = scratch_dir / "data" / "postmaster.pid"
    leftover = pid_file.read_text()
    assert stop_cluster(scratch_dir) is True
    pid_file.write_text(leftover)  # as if the server had crashed: its pid is dead now

    assert cluster_status(scratch_dir).running is False
    after = ensure_cluster(scratch_dir)
    assert after.started is True
    assert after.pid != before.pid
    assert _query(after.dsn, "SELECT 1")[0][0] == 1


def test_start_after_the_postmaster_was_killed(scratch_dir: Path) -> None:
    before = ensure_cluster(scratch_dir)
    log_size = before.log_file.stat().st_size
    os.kill(before.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while cluster_status(scratch_dir).running and time.monotonic() < deadline:
        time.sleep(0.05)

    after = ensure_cluster(scratch_dir)
    assert (after.started, after.port) == (True, before.port)
    assert after.pid != before.pid
    assert _query(after.dsn, "SELECT current_database()")[0][0] == "synthgen"
    with before.log_file.open() as log:
        log.seek(log_size)
        assert "not properly shut down; automatic recovery in progress" in log.read()


def test_status_of_an_empty_directory(tmp_path: Path) -> None:
    status = cluster_status(tmp_path / "nothing")
    assert (status.initialized, status.running, status.port, status.pid) == (
        False,
        False,
        None,
        None,
    )
    assert status.dsn is None
    assert status.to_dict()["running"] is False


# --- mask_dsn ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dsn", "masked"),
    [
        (
            "postgresql://alice:hunter2@db.example:5432/app",
            "postgresql://alice:***@db.example:5432/app",
        ),
        ("postgres://alice:hun@ter2@db/app", "postgres://alice:***@db/app"),
        ("POSTGRESQL://alice:hunter2@db/app", "POSTGRESQL://alice:***@db/app"),
        ("postgresql://:hunter2@db/app", "postgresql://:***@db/app"),
        (
            "postgresql://db/app?user=bob&password=hunter2&sslmode=require",
            "postgresql://db/app?user=bob&password=***&sslmode=require",
        ),
        (
            "host=db user=bob password=hunter2 dbname=app",
            "host=db user=bob password=*** dbname=app",
        ),
        ("host=db password='hunter2 with space' dbname=app", "host=db password=*** dbname=app"),
        ("host=db password = 'it\\'s hunter2' port=5432", "host=db password = *** port=5432"),
        ("host=db sslpassword=hunter2", "host=db sslpassword=***"),
    ],
)
def test_mask_dsn_hides_passwords(dsn: str, masked: str) -> None:
    assert mask_dsn(dsn) == masked
    assert "hunter2" not in mask_dsn(dsn)


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://postgres@127.0.0.1:5432/synthgen",
        "postgresql://127.0.0.1:5432/synthgen?sslmode=disable",
        "host=db user=bob dbname=app",
        "",
    ],
)
def test_mask_dsn_leaves_password_free_dsns_alone(dsn: str) -> None:
    assert mask_dsn(dsn) == dsn


# --- the CLI ----------------------------------------------------------------------------------


def test_cli_up_status_down(pg_cluster_dir_factory: Any) -> None:
    directory = str(pg_cluster_dir_factory("cli"))
    runner = CliRunner()

    up = runner.invoke(postgres, ["up", "--dir", directory])
    assert up.exit_code == 0, up.output
    dsn = up.stdout.strip()
    assert re.fullmatch(r"postgresql://postgres@127\.0\.0\.1:\d+/synthgen", dsn)
    assert "started" in up.stderr
    assert _query(dsn, "SELECT current_database()")[0][0] == "synthgen"
    port = int(dsn.rsplit(":", 1)[1].split("/")[0])

    again = runner.invoke(postgres, ["up", "--dir", directory])
    assert (again.exit_code, again.stdout.strip()) == (0, dsn)
    assert "already running" in again.stderr

    clash = runner.invoke(postgres, ["up", "--dir", directory, "--port", str(_other_port(port))])
    assert clash.exit_code == 1
    assert clash.stderr.startswith("error: ") and clash.stderr.count("\n") == 1
    assert f"already running on port {port}" in clash.stderr

    status = runner.invoke(postgres, ["status", "--dir", directory, "--json"])
    assert status.exit_code == 0, status.output
    payload = json.loads(status.stdout)
    assert (payload["running"], payload["port"], payload["dsn"]) == (True, port, dsn)
    assert isinstance(payload["pid"], int)

    down = runner.invoke(postgres, ["down", "--dir", directory])
    assert down.exit_code == 0, down.output
    assert "stopped" in down.stderr
    text = runner.invoke(postgres, ["status", "--dir", directory])
    assert "running: no" in text.stdout
    assert f"port: {port}" in text.stdout
    assert "was not running" in runner.invoke(postgres, ["down", "--dir", directory]).stderr


@pytest.mark.parametrize("command", ["up", "down", "status"])
def test_cli_help_has_an_example(command: str) -> None:
    result = CliRunner().invoke(postgres, [command, "--help"])
    assert result.exit_code == 0
    assert f"Example: synthgen postgres {command}" in result.stdout
