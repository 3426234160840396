"""A `timestamp` parameter on an application schema whose times are epoch milliseconds in bigint
columns (the go-chat example): measured over its classes with values in the column's own unit,
and run by pgbench with every variable set — through the installed `synthgen`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.paths import SYNTHGEN
from support.pg import query, run_sql
from synthgen.appschema.migrate import run_migrations
from synthgen.loadtest.pgbench import find_pgbench
from synthgen.postgres.dsn import with_search_path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "go-chat"
SCHEMA = "go_chat_times"
SINCE = """-- name: Q6 posts since
-- purpose: a user's live posts since a point in time, across channels (epoch ms columns).
-- param $1 text user: a sampled user
-- param $2 bigint timestamp: epoch ms before the newest post
SELECT count(*) FROM posts p WHERE p.userid = $1 AND p.createat > $2 AND p.deleteat = 0;
"""


def _synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=900)


@pytest.fixture()
def go_chat(app_dataset: Path, pg_dsn: str, tmp_path: Path) -> Iterator[Path]:
    """The go-chat schema loaded through its mapping; yields the mapping's path."""
    drop = (f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE',
            f'DROP SCHEMA IF EXISTS "synthgen_{SCHEMA}" CASCADE')  # fmt: skip
    run_sql(pg_dsn, *drop)
    run_migrations(pg_dsn, SCHEMA, str(EXAMPLE / "schema.sql"))
    mapping = json.loads((EXAMPLE / "mapping.json").read_text())
    mapping["schema"] = SCHEMA
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(mapping))
    loaded = _synthgen("load", str(app_dataset), "--dsn", pg_dsn, "--mapping", str(path),
                       "--jobs", "2", "--quiet")  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    yield path
    run_sql(pg_dsn, *drop)


def test_a_timestamp_binds_epoch_ms_for_an_integer_time_column(
    go_chat: Path, pg_dsn: str, tmp_path: Path
) -> None:
    folder = tmp_path / "queries"
    folder.mkdir()
    (folder / "q6_posts_since.sql").write_text(SINCE)
    out = tmp_path / "pre.json"
    made = _synthgen(
        "verify", "baseline", "--label", "pre", "--runs", "1", "--explain-runs", "1",
        "--warmups", "0", "--plan-mode", "custom", "--queries", str(folder),
        "--dsn", pg_dsn, "--mapping", str(go_chat), "--out", str(out), "--quiet",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    doc = json.loads(out.read_text())
    assert [r["class"] for r in doc["results"]] == [
        f"{u}×{t}" for u in ("median", "top1") for t in ("1h", "1d", "7d")
    ]
    newest = int(query(pg_dsn, f"SELECT max(createat) FROM {SCHEMA}.posts")[0][0])
    back_ms = {"1h": 3_600_000, "1d": 86_400_000, "7d": 604_800_000}
    for result in doc["results"]:
        user, when = result["class"].split("×")
        # the bound value is the epoch ms in the column, exactly that long before the newest
        assert result["params"] == [doc["parameters"]["user"][user]["id"], newest - back_ms[when]]
    # the 1d class finds the day's posts the column holds, counted without the parameters
    day = query(pg_dsn, f"SELECT count(*) FROM {SCHEMA}.posts WHERE createat > "
                f"(SELECT max(createat) - 86400000 FROM {SCHEMA}.posts)")[0][0]  # fmt: skip
    assert day > 0

    workload = tmp_path / "workload"
    made = _synthgen("workload", "--dsn", pg_dsn, "--mapping", str(go_chat), "--mix", "Q6=1",
                     "--queries", str(folder), "--out", str(workload))  # fmt: skip
    assert made.returncode == 0, made.stderr
    script = workload / "q6.pgbench"
    assert ":ts_epoch" in script.read_text() and ":user_id" in script.read_text()
    ran = subprocess.run(
        [find_pgbench(), "-n", "-M", "extended", "-t", "15", "-f", str(script),
         with_search_path(pg_dsn, SCHEMA)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "number of transactions actually processed: 15/15" in ran.stdout, ran.stdout
    epochs = query(pg_dsn, f"SELECT array_agg(at_epoch ORDER BY k) FROM {SCHEMA}.synthgen_lt_times")
    assert epochs[0][0] == [newest - back_ms[t] for t in ("1h", "1d", "7d")]
