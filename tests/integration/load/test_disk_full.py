"""The server's disk filling up, through the installed command: a load whose tables live on a
small tmpfs, and a concurrent index build whose index does. Each ends in one clear line naming
the cause, nothing is marked complete, and the INVALID index a failed CREATE INDEX CONCURRENTLY
leaves behind is dropped (and said so)."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from synthgen.postgres.cluster import ensure_cluster

pytestmark = pytest.mark.postgres

SYNTHGEN = Path(sys.executable).parent / "synthgen"


def _synthgen(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SYNTHGEN), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def small_disk(skip_or_fail: Callable[[str], Any]) -> Iterator[Path]:
    """A 2 MiB tmpfs the server's account owns (mounted as root; unmounted afterwards)."""
    if os.geteuid() != 0:
        skip_or_fail("mounting a small tmpfs for a full disk needs root")
    where = Path(tempfile.mkdtemp(prefix="synthgen-full-disk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)], check=True)
    try:
        account = pwd.getpwnam("postgres")
        os.chown(where, account.pw_uid, account.pw_gid)
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        where.rmdir()


@pytest.fixture
def server(pg_cluster_dir_factory: Callable[[str], Path]) -> str:
    """A cluster of this test's own: its default tablespace is changed below."""
    return ensure_cluster(pg_cluster_dir_factory("full-disk")).dsn


def test_a_load_onto_a_full_disk_stops_in_one_line_and_nothing_is_complete(
    server: str,
    small_disk: Path,
    dataset_one_shard: Path,
    sql_for: Callable[[str], Any],
) -> None:
    sql = sql_for(server)
    sql(f"CREATE TABLESPACE small_disk LOCATION '{small_disk}'")
    # every table the load creates goes to the 2 MiB disk; 100 000 messages need ~22 MB
    sql("ALTER ROLE postgres SET default_tablespace = small_disk")
    schema = "t_full_disk_load"
    try:
        args = [str(dataset_one_shard), "--dsn", server, "--schema", schema, "--jobs", "1"]
        result = _synthgen("load", *args, "--quiet")
        assert result.returncode == 1, result.stdout + result.stderr
        line = _one_line(result)
        assert "No space left on device" in line, line
        statuses = sql(
            f"SELECT count(*) FILTER (WHERE status = 'complete') FROM {schema}.synthgen_loads"
        )
        assert statuses == [(0,)]
    finally:
        sql("ALTER ROLE postgres RESET default_tablespace")
        sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        sql("DROP TABLESPACE IF EXISTS small_disk")


def test_an_index_build_onto_a_full_disk_drops_its_invalid_index(
    server: str,
    small_disk: Path,
    dataset_one_shard: Path,
    sql_for: Callable[[str], Any],
) -> None:
    sql = sql_for(server)
    schema = "t_full_disk_index"
    args = ["--dsn", server, "--schema", schema]
    loaded = _synthgen("load", str(dataset_one_shard), *args, "--jobs", "1", "--quiet")
    assert loaded.returncode == 0, loaded.stderr
    sql(f"CREATE TABLESPACE small_disk LOCATION '{small_disk}'")
    try:
        # the index builds' sessions put new indexes on the 2 MiB disk; the messages index of
        # 100 000 rows needs more
        full = {"PGOPTIONS": "-c default_tablespace=small_disk"}
        result = _synthgen("indexes", "apply", *args, "--quiet", env=full)
        assert result.returncode == 1, result.stdout + result.stderr
        line = _one_line(result)
        assert "No space left on device" in line, line
        assert "idx_messages_conversation_created_desc failed to build" in line, line
        assert "was dropped with DROP INDEX CONCURRENTLY" in line, line
        invalid = sql(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND NOT i.indisvalid",
            schema,
        )
        assert invalid == []
        built = sql("SELECT indexname FROM pg_indexes WHERE schemaname = $1", schema)
        assert "idx_messages_conversation_created_desc" not in {r[0] for r in built}
        # with room again, the same command builds every index
        retried = _synthgen("indexes", "apply", *args, "--quiet")
        assert retried.returncode == 0, retried.stderr
    finally:
        sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        sql("DROP TABLESPACE IF EXISTS small_disk")
