"""Faults on the server's side, through the installed command: PostgreSQL stopped in the middle
of a load and started again. The load ends in one clear line, no unit is half there, and
`load --resume` completes with exact counts and the dataset's own content, checksummed."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.dataset as pads
import pytest

from synthgen.postgres.cluster import ensure_cluster, stop_cluster

pytestmark = pytest.mark.postgres

SYNTHGEN = Path(sys.executable).parent / "synthgen"
SCHEMA = "t_server_restart"


def _synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=600)


def _parquet_checksum(root: Path, table: str, column: str) -> tuple[int, str]:
    """Rows and the md5 of `column` in id order, from the dataset's Parquet files."""
    data = pads.dataset(root / table, format="parquet").to_table(columns=["id", column])
    data = data.sort_by("id")
    digest = hashlib.md5()
    for value in data.column(column).to_pylist():
        digest.update(f"{'NULL' if value is None else value}\n".encode())
    return data.num_rows, digest.hexdigest()


def _db_checksum(sql: Any, table: str, column: str) -> tuple[int, str]:
    ((count, digest),) = sql(
        f"SELECT count(*), md5(coalesce(string_agg(coalesce(\"{column}\"::text, 'NULL') "
        f"|| E'\\n', '' "
        f"ORDER BY id), '')) FROM {SCHEMA}.{table}"
    )
    return int(count), str(digest)


def test_postgres_stopped_mid_load_then_resume_is_exact(
    pg_cluster_dir_factory: Callable[[str], Path],
    dataset_sharded: Path,
    sql_for: Callable[[str], Any],
    manifest: Callable[[Path], dict[str, Any]],
) -> None:
    directory = pg_cluster_dir_factory("restart")
    dsn = ensure_cluster(directory).dsn
    sql = sql_for(dsn)
    m = manifest(dataset_sharded)
    args = [str(dataset_sharded), "--dsn", dsn, "--schema", SCHEMA, "--jobs", "1", "--quiet"]
    proc = subprocess.Popen(
        [str(SYNTHGEN), "load", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    recorded = 0
    while proc.poll() is None and time.monotonic() < deadline and recorded < 2:
        try:
            recorded = int(sql(f"SELECT count(*) FROM {SCHEMA}.synthgen_shards")[0][0])
        except Exception:  # the loader has not created its tables yet
            recorded = 0
        time.sleep(0.01)
    assert proc.poll() is None, "the load ended before the server could be stopped"
    stop_cluster(directory)  # fast shutdown: the server ends every session
    _, stderr = proc.communicate(timeout=120)
    # one clear line, no traceback
    lines = stderr.strip().splitlines()
    assert proc.returncode == 1, stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr

    ensure_cluster(directory)  # started again: the same port, the same data
    sql = sql_for(dsn)  # the old connection died with the server
    units = int(sql(f"SELECT count(*) FROM {SCHEMA}.synthgen_shards")[0][0])
    assert units >= 2
    recorded_rows = dict(
        sql(f"SELECT table_name, sum(rows)::bigint FROM {SCHEMA}.synthgen_shards GROUP BY 1")
    )
    for table in m["counts"]:  # whole units only: what is recorded is exactly what is there
        count = sql(f"SELECT count(*) FROM {SCHEMA}.{table}")[0][0]
        assert count == recorded_rows.get(table, 0), table
    assert sql(f"SELECT status FROM {SCHEMA}.synthgen_loads") != [("complete",)]

    resumed = _synthgen("load", *args, "--resume", "--json")
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["shards_skipped"] == units
    assert summary["counts"] == m["counts"]
    for table, rows in m["counts"].items():
        assert sql(f"SELECT count(*) FROM {SCHEMA}.{table}") == [(rows,)], table
    # the rows' content, checksummed in id order against the dataset's files
    for table, column in (("messages", "content"), ("messages", "senderId"), ("users", "email")):
        want = _parquet_checksum(dataset_sharded, table, column)
        assert _db_checksum(sql, table, column) == want, (table, column)
    statuses = sql(f"SELECT status FROM {SCHEMA}.synthgen_loads ORDER BY load_id")
    assert statuses[-1] == ("complete",) and len(statuses) == 2, statuses
