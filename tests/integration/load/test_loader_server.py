"""Against a private cluster of this module: wrong password, server crash, disk full."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from synthgen.postgres.cluster import ClusterInfo, ensure_cluster
from synthgen.postgres.server import find_server_binaries, run_tool, server_account
from synthgen.schema import TABLES

pytestmark = pytest.mark.postgres

PASSWORD_USER = "loader_pw_user"


@pytest.fixture(scope="module")
def private_cluster(pg_cluster_dir_factory: Callable[[str], Path]) -> ClusterInfo:
    """A cluster of our own: we change its pg_hba.conf and crash it."""
    return ensure_cluster(pg_cluster_dir_factory("loader"))


def _crash(info: ClusterInfo) -> None:
    """Stop the server the way a power cut would (no checkpoint, no goodbye to clients)."""
    pg_ctl = find_server_binaries().tool("pg_ctl")
    args = [pg_ctl, "stop", "-D", str(info.data_dir), "-m", "immediate", "-w"]
    proc = run_tool(args, server_account(), info.directory)
    assert proc.returncode == 0, proc.stderr


def test_wrong_password_is_one_line_with_the_password_masked(
    private_cluster: ClusterInfo, sql_for: Callable[[str], Any], run: Any, dataset_one_shard: Path
) -> None:
    sql = sql_for(private_cluster.dsn)
    sql(f"DROP ROLE IF EXISTS {PASSWORD_USER}")
    sql(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD 'the-right-one'")
    hba = private_cluster.data_dir / "pg_hba.conf"
    rule = f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n"
    if rule not in hba.read_text():
        hba.write_text(rule + hba.read_text())  # first match wins: before the trust lines
    sql("SELECT pg_reload_conf()")
    time.sleep(0.2)
    dsn = (
        f"postgresql://{PASSWORD_USER}:not-the-right-one@127.0.0.1:{private_cluster.port}/synthgen"
    )
    code, _, err = run("load", str(dataset_one_shard), "--dsn", dsn, "--quiet")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert f"cannot connect to postgresql://{PASSWORD_USER}:***@127.0.0.1" in lines[0]
    assert f'password authentication failed for user "{PASSWORD_USER}"' in lines[0]
    assert "not-the-right-one" not in err


def test_server_crash_mid_load_then_resume_is_exact(
    private_cluster: ClusterInfo,
    sql_for: Callable[[str], Any],
    dataset_sharded: Path,
    manifest: Callable[[Path], dict[str, Any]],
) -> None:
    dsn, schema = private_cluster.dsn, "crash_test"
    sql = sql_for(dsn)
    sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    command = [sys.executable, "-c", "from synthgen.cli import main; main()", "load"]
    # shard by shard: the crash and its resume are counted in shards (arrival units are
    # covered by test_loader_resume's kill)
    args = [str(dataset_sharded), "--dsn", dsn, "--schema", schema, "--jobs", "2", "--quiet"]
    args += ["--order", "room"]
    proc = subprocess.Popen([*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    recorded = 0
    while proc.poll() is None and time.monotonic() < deadline and recorded < 1:
        try:
            recorded = sql(f"SELECT count(*) FROM {schema}.synthgen_shards")[0][0]
        except Exception:
            recorded = 0
        time.sleep(0.005)
    _crash(private_cluster)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    message = err.decode()
    assert message.startswith("error: ") and len(message.strip().splitlines()) == 1, message
    print(message)

    restarted = ensure_cluster(private_cluster.directory)
    assert restarted.started
    sql = sql_for(restarted.dsn)  # the old connection died with the server
    recorded_rows = dict(
        sql(f"SELECT table_name, sum(rows)::bigint FROM {schema}.synthgen_shards GROUP BY 1")
    )
    for table in TABLES:  # only whole shards survived the crash
        assert sql(f"SELECT count(*) FROM {schema}.{table}") == [(recorded_rows.get(table, 0),)]
    files = len(manifest(dataset_sharded)["files"])
    assert sum(1 for _ in recorded_rows) <= files

    resumed = subprocess.run(
        [*command, *args, "--resume", "--json"], capture_output=True, text=True, check=False
    )
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["shards_loaded"] + summary["shards_skipped"] == files
    assert summary["shards_loaded"] >= 1
    counts = manifest(dataset_sharded)["counts"]
    for table, rows in counts.items():
        assert sql(f"SELECT count(*) FROM {schema}.{table}") == [(rows,)]
    statuses = [s for (s,) in sql(f"SELECT status FROM {schema}.synthgen_loads ORDER BY 1")]
    assert statuses == ["complete", "interrupted"]


@pytest.fixture
def tiny_disk(skip_or_fail: Callable[[str], NoReturn]) -> Iterator[Path]:
    """An 8 MB tmpfs the server's OS user owns: a disk that fills up for real (root only).

    CI runs as root, where the mount works; there a failed mount fails the test (skip_or_fail),
    so the README's "--resume after a full disk" stays proven."""
    if os.geteuid() != 0:
        skip_or_fail("mounting a small tmpfs needs root")
    mount_point = Path(tempfile.mkdtemp(prefix="synthgen-tiny-disk-"))
    mount_point.chmod(0o755)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        mount_point.rmdir()
        skip_or_fail(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    account = pwd.getpwnam("postgres")
    os.chown(mount_point, account.pw_uid, account.pw_gid)
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)
    mount_point.rmdir()


def test_disk_full_rolls_the_shard_back_and_resume_continues_once_space_is_freed(
    private_cluster: ClusterInfo,
    sql_for: Callable[[str], Any],
    tiny_disk: Path,
    run: Any,
    dataset_sharded: Path,
    manifest: Callable[[Path], dict[str, Any]],
) -> None:
    dsn, schema = private_cluster.dsn, "disk_full"
    sql = sql_for(dsn)
    sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    sql("DROP TABLESPACE IF EXISTS tiny")
    args = ["load", str(dataset_sharded), "--dsn", dsn, "--schema", schema, "--quiet"]
    args += ["--order", "room"]  # counted in shards below
    assert run(*args, "--jobs", "1")[0] == 0
    # Take the messages out again and put their table on the small disk: the ~25 MB of
    # messages cannot fit in 8 MB, so the server runs out of space part way through.
    sql(f"CREATE TABLESPACE tiny LOCATION '{tiny_disk}'")
    for fk in ("attachments_messageId_fkey", "read_receipts_messageId_fkey"):
        table = fk.split("_messageId")[0]
        sql(f'ALTER TABLE {schema}.{table} DROP CONSTRAINT "{fk}"')
    sql(f"TRUNCATE {schema}.messages")
    sql(f"DELETE FROM {schema}.synthgen_shards WHERE table_name = 'messages'")
    sql(f"ALTER TABLE {schema}.messages SET TABLESPACE tiny")

    code, _, err = run(*args, "--jobs", "1", "--resume")
    assert code == 1
    assert "No space left on device" in err and "rolled back" in err and "--resume" in err
    print(err)
    failed_shard = err.split("stopped: ")[1].split(":")[0]
    assert failed_shard.startswith("messages/part-")
    status, stopped_at = sql(
        f"SELECT status, stopped_at FROM {schema}.synthgen_loads ORDER BY load_id DESC LIMIT 1"
    )[0]
    assert status == "failed" and failed_shard in stopped_at and "No space left" in stopped_at
    recorded = sql(
        f"SELECT count(*), coalesce(sum(rows), 0)::bigint FROM {schema}.synthgen_shards "
        "WHERE table_name = 'messages'"
    )[0]
    assert recorded[0] >= 1  # some shards fit before the disk filled up
    assert sql(f"SELECT count(*) FROM {schema}.messages") == [(recorded[1],)]  # no half shard
    assert not sql(f"SELECT 1 FROM {schema}.synthgen_shards WHERE path = $1", failed_shard)

    # Free space (grow the disk), resume: exact counts, the dropped foreign keys rebuilt.
    grown = subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_disk)], check=False)
    assert grown.returncode == 0
    code, out, err = run(*args, "--jobs", "1", "--resume", "--json")
    assert code == 0, err
    assert (
        json.loads(out)["shards_skipped"]
        == len(manifest(dataset_sharded)["files"]) - 10 + recorded[0]
    )
    for table, rows in manifest(dataset_sharded)["counts"].items():
        assert sql(f"SELECT count(*) FROM {schema}.{table}") == [(rows,)]
    fks = sql(
        "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE n.nspname = $1 AND c.contype = 'f' AND c.convalidated",
        schema,
    )
    assert fks == [(sum(len(t.foreign_keys) for t in TABLES.values()),)]
    sql(f"DROP SCHEMA {schema} CASCADE")
    sql("DROP TABLESPACE tiny")
