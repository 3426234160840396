"""Interrupted loads: SIGKILL mid-load, a server error inside a shard; --replace; --unlogged."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from synthgen.load.shards import DEFAULT_BATCH_ROWS
from synthgen.schema import TABLES

pytestmark = pytest.mark.postgres

Manifest = Callable[[Path], dict[str, Any]]


def shards_recorded(sql: Any, schema: str) -> int:
    try:
        return int(sql(f"SELECT count(*) FROM {schema}.synthgen_shards")[0][0])
    except Exception:  # the loader has not created its tables yet
        return 0


def assert_whole_shards_only(sql: Any, schema: str) -> None:
    """Every table holds exactly the rows of the shards recorded for it: no half shard."""
    recorded = dict(
        sql(f"SELECT table_name, sum(rows)::bigint FROM {schema}.synthgen_shards GROUP BY 1")
    )
    for table in TABLES:
        assert sql(f"SELECT count(*) FROM {schema}.{table}") == [(recorded.get(table, 0),)], table


def assert_exact(sql: Any, schema: str, counts: dict[str, int]) -> None:
    for table, rows in counts.items():
        assert sql(f"SELECT count(*) FROM {schema}.{table}") == [(rows,)], table
    assert sql(f"SELECT count(DISTINCT id) FROM {schema}.messages") == [(counts["messages"],)]


def load_units(m: dict[str, Any], order: str) -> int:
    """What a load of this manifest records: a shard per file, or arrival units of 65,536 rows."""
    if order == "room":
        return len(m["files"])
    return sum(-(-rows // DEFAULT_BATCH_ROWS) for rows in m["counts"].values() if rows)


@pytest.mark.parametrize("order", ["arrival", "room"])
def test_sigkill_mid_load_then_resume_is_exact(
    pg_dsn: str,
    dataset_sharded: Path,
    schema: str,
    sql: Any,
    load: Any,
    manifest: Manifest,
    order: str,
) -> None:
    m = manifest(dataset_sharded)
    files = load_units(m, order)
    command = [sys.executable, "-c", "from synthgen.cli import main; main()", "load"]
    args = [str(dataset_sharded), "--dsn", pg_dsn, "--schema", schema, "--jobs", "1", "--quiet"]
    args += ["--order", order]
    proc = subprocess.Popen([*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if shards_recorded(sql, schema) >= 1:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    recorded = shards_recorded(sql, schema)
    assert 1 <= recorded < files, "the kill should land mid-load"
    assert_whole_shards_only(sql, schema)

    # resuming with the other order is refused: the two record different units
    other = "room" if order == "arrival" else "arrival"
    code, _, err = load(dataset_sharded, schema, "--resume", "--order", other)
    assert code == 1 and "another --order" in err
    code, out, err = load(dataset_sharded, schema, "--resume", "--json", "--order", order)
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["shards_skipped"], summary["shards_loaded"]) == (recorded, files - recorded)
    assert summary["counts"] == m["counts"]
    assert_exact(sql, schema, m["counts"])
    assert sql(f"SELECT status FROM {schema}.synthgen_loads ORDER BY load_id") == [
        ("interrupted",),
        ("complete",),
    ]
    assert sql(f"SELECT count(*), count(DISTINCT path) FROM {schema}.synthgen_shards") == [
        (files, files)
    ]


def test_server_error_inside_a_shard_rolls_it_back_and_resume_continues(
    dataset_sharded: Path, schema: str, sql: Any, load: Any, manifest: Manifest
) -> None:
    m = manifest(dataset_sharded)
    assert load(dataset_sharded, schema, "--jobs", "2", "--order", "room")[0] == 0
    # Take one shard out again (its rows and its record), then make the server reject the
    # second half of its rows when it is loaded anew: a real error in the middle of a COPY.
    shard = "read_receipts/part-00003.parquet"
    rows = next(f["rows"] for f in m["files"] if f["path"] == shard)
    # the shard's receipts, by key: every shard spans the whole window, so its message ids are
    # spread over the whole id range
    keys = pq.read_table(dataset_sharded / shard, columns=["messageId", "userId"])
    middle = int(pc.quantile(keys.column("messageId"), 0.5)[0].as_py())
    message, user = ("{" + ",".join(map(str, c.to_pylist())) + "}" for c in keys.columns)
    where = (
        f"""("messageId", "userId") IN """
        f"""(SELECT * FROM unnest('{message}'::bigint[], '{user}'::bigint[]))"""
    )
    assert sql(f"SELECT count(*) FROM {schema}.read_receipts WHERE {where}") == [(rows,)]
    sql(f"DELETE FROM {schema}.read_receipts WHERE {where}")
    sql(f"DELETE FROM {schema}.synthgen_shards WHERE path = $1", shard)
    sql(
        f"ALTER TABLE {schema}.read_receipts ADD CONSTRAINT reject_late "
        f'CHECK ("messageId" < {middle}) NOT VALID'
    )

    code, _, err = load(dataset_sharded, schema, "--resume", "--order", "room")
    assert code == 1
    assert shard in err and "reject_late" in err and "rolled back" in err
    assert_whole_shards_only(sql, schema)
    total = m["counts"]["read_receipts"]
    assert sql(f"SELECT count(*) FROM {schema}.read_receipts") == [(total - rows,)]
    status, stopped_at = sql(
        f"SELECT status, stopped_at FROM {schema}.synthgen_loads ORDER BY load_id DESC LIMIT 1"
    )[0]
    assert status == "failed" and shard in stopped_at and "--resume" in stopped_at

    sql(f"ALTER TABLE {schema}.read_receipts DROP CONSTRAINT reject_late")
    code, out, err = load(dataset_sharded, schema, "--resume", "--json", "--order", "room")
    assert code == 0, err
    assert json.loads(out)["shards_loaded"] == 1
    assert_exact(sql, schema, m["counts"])
    assert [s for (s,) in sql(f"SELECT status FROM {schema}.synthgen_loads ORDER BY load_id")] == [
        "complete",
        "failed",
        "complete",
    ]
    # A row gone behind synthgen's back: the count check names the table and both counts.
    first = f"(SELECT min(ctid) FROM {schema}.read_receipts)"
    sql(f"DELETE FROM {schema}.read_receipts WHERE ctid = {first}")
    code, _, err = load(dataset_sharded, schema, "--resume", "--order", "room")
    assert code == 1
    assert f"row counts differ from the manifest: read_receipts {total - 1:,} != {total:,}" in err


def test_replace_swaps_the_dataset_and_unlogged_makes_unlogged_tables(
    dataset_one_shard: Path,
    dataset_sharded: Path,
    schema: str,
    sql: Any,
    load: Any,
    manifest: Manifest,
) -> None:
    assert load(dataset_one_shard, schema, "--jobs", "1")[0] == 0
    code, out, err = load(dataset_sharded, schema, "--replace", "--unlogged", "--json")
    assert code == 0, err
    assert json.loads(out)["unlogged"] is True
    assert_exact(sql, schema, manifest(dataset_sharded)["counts"])
    loads = sql(f"SELECT dataset_sha256, status FROM {schema}.synthgen_loads")
    assert loads == [(manifest(dataset_sharded)["dataset_sha256"], "complete")]
    persistence = dict(
        sql(
            "SELECT c.relname, c.relpersistence FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 "
            "AND c.relkind = 'r'",
            schema,
        )
    )
    # Data and shard records vanish together in a crash; the load history stays.
    assert persistence == {
        **{t: "u" for t in TABLES},
        "synthgen_shards": "u",
        "synthgen_loads": "p",
    }


def test_a_second_loader_on_the_same_schema_is_refused_while_the_first_holds_it(
    pg_dsn: str, dataset_one_shard: Path, schema: str, load: Any
) -> None:
    from synthgen.errors import LoadError
    from synthgen.load.audit import lock_schema
    from synthgen.postgres.connect import connect

    with connect(pg_dsn, autocommit=True) as first:
        lock_schema(first, schema)  # what a running load or teardown holds
        busy = pytest.raises(LoadError, match="in use by another synthgen load or teardown")
        with connect(pg_dsn, autocommit=True) as second, busy:
            lock_schema(second, schema, wait_s=0.3)
    # The lock dies with its session, as it does when a loader is killed.
    assert load(dataset_one_shard, schema, "--jobs", "1")[0] == 0
