"""More shards than the merge opens at once: tables of 50 files each load through spilled runs,
in exact arrival order, resume after SIGKILL, and leave no run file behind."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from synthgen.appschema.migrate import run_migrations
from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.load.arrival_units import SPILL_PARENT, SPILL_PREFIX
from synthgen.load.merge import MAX_FAN_IN
from synthgen.spec import DEFAULT_SPEC_PATH, load_spec

pytestmark = pytest.mark.postgres

SYNTHGEN = str(Path(sys.executable).parent / "synthgen")
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "prisma-chat"
SHARDS = 50  # per message-side table: 100k messages, 2 000 per shard
UNIT_ROWS = 65_536
# the merge's key of each table (ids follow createdAt only to the engine's time bucket)
KEYS = {
    "messages": "id",
    "attachments": "id",
    "read_receipts": '"readAt", "messageId", "userId"',
    "conversation_users": '"joinedAt", "conversationId", "userId"',
}


@pytest.fixture(scope="module")
def dataset_many_shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("loader-many")
    raw = json.loads(DEFAULT_SPEC_PATH.read_text())
    raw["output"]["shard_messages"] = 100_000 // SHARDS
    spec_path = root / "tiny-shards.json"
    spec_path.write_text(json.dumps(raw))
    out = root / "ds"
    options = BuildOptions("dev", 0.02, "many", out, workers=2, spec_path=str(spec_path))
    build_dataset(load_spec(spec_path), options)
    files = json.loads((out / "manifest.json").read_text())["files"]
    assert sum(f["table"] == "messages" for f in files) == SHARDS > MAX_FAN_IN
    return out


def _spills(dataset: Path) -> list[Path]:
    return sorted((dataset / SPILL_PARENT).glob(f"{SPILL_PREFIX}*"))


def _load(dataset: Path, dsn: str, schema: str, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["load", str(dataset), "--dsn", dsn, "--schema", schema, "--quiet", *extra]
    return subprocess.run([SYNTHGEN, *args], capture_output=True, text=True, timeout=600)


def _heap_time_correlation(sql: Any, table: str, column: str) -> float:
    """Pearson's r of heap position against the rank of `column`: Spearman's rho of the two."""
    return float(
        sql(
            "SELECT corr(heap, time) FROM (SELECT row_number() OVER (ORDER BY ctid) AS heap, "
            f'rank() OVER (ORDER BY "{column}") AS time FROM {table}) s'
        )[0][0]
    )


def _unit_transactions(sql: Any, table: str, key: str) -> list[tuple[int, int, int]]:
    """(unit, first xmin, last xmin) of the rows ranked by the arrival key in slices of a unit."""
    return [
        (int(u), int(a), int(b))
        for u, a, b in sql(
            f"SELECT unit, min(x), max(x) FROM (SELECT (row_number() OVER (ORDER BY {key}) - 1) "
            f"/ {UNIT_ROWS} AS unit, xmin::text::bigint AS x FROM {table}) s GROUP BY 1 ORDER BY 1"
        )
    ]


def _assert_exact_arrival_order(sql: Any, schema: str) -> None:
    """Every unit holds exactly its slice of the table's arrival order (its rows share one
    transaction), and the units committed in order. Within a unit the heap follows the order up
    to PostgreSQL's reuse of free space: COPY puts a later small row into the leftover space of
    an earlier page, as production's inserts do."""
    for table, key in KEYS.items():
        units = _unit_transactions(sql, f"{schema}.{table}", key)
        assert all(first == last for _, first, last in units), (table, units)
        assert [u for u, _, _ in units] == list(range(len(units)))
        xids = [first for _, first, _ in units]
        assert xids == sorted(set(xids)), (table, units)


def test_many_shards_load_in_exact_arrival_order_through_spilled_runs(
    dataset_many_shards: Path, pg_dsn: str, schema: str, sql: Any, manifest: Any
) -> None:
    done = _load(dataset_many_shards, pg_dsn, schema, "--jobs", "2", "--json")
    assert done.returncode == 0, done.stderr
    counts = manifest(dataset_many_shards)["counts"]
    assert json.loads(done.stdout)["counts"] == counts
    _assert_exact_arrival_order(sql, schema)
    # shards interleaved room groups over the whole window; the heap now follows time alone
    stats = dict(
        ((t, c), float(r))
        for t, c, r in sql(
            "SELECT tablename, attname, correlation FROM pg_stats WHERE schemaname = $1", schema
        )
    )
    assert stats[("messages", "createdAt")] >= 0.99
    assert stats[("read_receipts", "readAt")] >= 0.99
    # rooms scattered over the heap (<= 0.15 on the dev band; 160 rooms here)
    assert abs(stats[("messages", "conversationId")]) < 0.5
    assert _spills(dataset_many_shards) == []


def test_a_killed_many_shard_load_resumes_exactly_and_its_runs_are_removed(
    dataset_many_shards: Path, pg_dsn: str, schema: str, sql: Any, manifest: Any
) -> None:
    args = ["load", str(dataset_many_shards), "--dsn", pg_dsn, "--schema", schema, "--jobs", "1"]
    proc = subprocess.Popen([SYNTHGEN, *args, "--quiet"], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    recorded = 0
    while proc.poll() is None and time.monotonic() < deadline and not recorded:
        try:
            recorded = int(sql(f"SELECT count(*) FROM {schema}.synthgen_shards")[0][0])
        except Exception:  # the loader has not created its tables yet
            time.sleep(0.01)
    left = _spills(dataset_many_shards)  # read before the kill: the load is spilling or merging
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert recorded >= 1 and len(left) == 1, (recorded, left)
    assert _spills(dataset_many_shards) == left  # SIGKILL: no cleanup ran

    done = _load(dataset_many_shards, pg_dsn, schema, "--resume", "--json", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    counts = manifest(dataset_many_shards)["counts"]
    assert summary["counts"] == counts
    units = sum(-(-rows // UNIT_ROWS) for rows in counts.values() if rows)
    assert summary["shards_skipped"] >= 1
    assert summary["shards_skipped"] + summary["shards_loaded"] == units
    _assert_exact_arrival_order(sql, schema)
    assert _spills(dataset_many_shards) == []  # the dead load's runs too


def test_the_mapped_load_of_many_shards_keeps_arrival_order(
    dataset_many_shards: Path, pg_dsn: str, sql: Any, manifest: Any, tmp_path: Path
) -> None:
    name = "app_many_shards"
    sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    sql(f'DROP SCHEMA IF EXISTS "synthgen_{name}" CASCADE')
    run_migrations(pg_dsn, name, str(EXAMPLE / "schema.sql"))
    mapping = json.loads((EXAMPLE / "mapping.json").read_text())
    mapping["schema"] = name
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(mapping))
    try:
        args = ["load", str(dataset_many_shards), "--dsn", pg_dsn, "--mapping", str(path)]
        done = subprocess.run([SYNTHGEN, *args, "--jobs", "2", "--quiet"], capture_output=True,
                              text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr
        counts = manifest(dataset_many_shards)["counts"]
        assert sql(f'SELECT count(*) FROM "{name}"."Message"') == [(counts["messages"],)]
        # the app's ids are cuids: its heap follows time, up to the engine's time buckets
        assert _heap_time_correlation(sql, f'"{name}"."Message"', "createdAt") >= 0.99
        assert _heap_time_correlation(sql, f'"{name}"."MessageRead"', "readAt") >= 0.99
        assert _spills(dataset_many_shards) == []
    finally:
        sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        sql(f'DROP SCHEMA IF EXISTS "synthgen_{name}" CASCADE')
