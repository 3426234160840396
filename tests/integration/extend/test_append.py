"""`synthgen load DELTA --append`: extensions into the live contract tables (keys, indexes and
constraints in place), exact counts, the chain enforced, a kill resumed without duplicates."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from support.extend import expected_counts, load_base, synthgen, table_counts, value
from support.paths import SYNTHGEN

pytestmark = pytest.mark.postgres


def test_append_chain_exact_counts_and_refusals(chain: dict[str, Path], pg_dsn: str) -> None:
    schema = "ext_append"
    load_base(pg_dsn, schema, chain["base"])
    early = synthgen("load", str(chain["ext2"]), "--append", "--dsn", pg_dsn, "--schema", schema)
    assert early.returncode == 1
    lines = early.stderr.strip().splitlines()
    assert len(lines) == 1 and "append the extensions in order" in lines[0], early.stderr
    guarded = synthgen(
        "load", str(chain["ext1"]), "--append", "--dsn", pg_dsn, "--schema", schema,
        "--deny-pattern", ".",
    )  # fmt: skip
    assert guarded.returncode == 1 and "production guard (deny-pattern)" in guarded.stderr
    assert len(guarded.stderr.strip().splitlines()) == 1
    assert value(pg_dsn, f"SELECT count(*) FROM {schema}.synthgen_loads") == 1  # the base's
    for name in ("ext1", "ext2"):
        done = synthgen(
            "load", str(chain[name]), "--append", "--dsn", pg_dsn, "--schema", schema, "--quiet"
        )
        assert done.returncode == 0, done.stderr
    assert table_counts(pg_dsn, schema) == expected_counts(
        chain["base"], chain["ext1"], chain["ext2"]
    )
    again = synthgen("load", str(chain["ext2"]), "--append", "--dsn", pg_dsn, "--schema", schema)
    assert again.returncode == 1 and "already holds" in again.stderr
    # the constraints stayed in place and the changes landed
    constraints = value(
        pg_dsn,
        f"""SELECT count(*) FROM pg_constraint c JOIN pg_namespace n
        ON n.oid = c.connamespace WHERE n.nspname = '{schema}' AND c.contype = 'f'""",
    )
    assert constraints >= 6
    # every member inactive in the files stays so, and every leave (of a base member or of one
    # who joined in an extension) turns one active member inactive
    left = value(pg_dsn, f'SELECT count(*) FROM {schema}.conversation_users WHERE NOT "isActive"')
    files = [f"{chain[name]}/conversation_users/*.parquet" for name in ("base", "ext1", "ext2")]
    born_inactive = duckdb.sql(
        f"""SELECT count(*) FROM read_parquet({files}) WHERE NOT "isActive" """
    ).fetchall()[0][0]
    changes = [f"{chain[name]}/changes/*.parquet" for name in ("ext1", "ext2")]
    leaves, distinct = duckdb.sql(f"""SELECT count(*), count(DISTINCT ("conversationId", "userId"))
        FROM read_parquet({changes}) WHERE op = 'leave'""").fetchall()[0]
    assert leaves == distinct > 0  # one leave per member
    assert left == born_inactive + leaves
    edited = value(
        pg_dsn, f"SELECT count(*) FROM {schema}.messages WHERE content LIKE '% (edited)'"
    )
    assert edited > 100
    cursor = value(pg_dsn, f"""SELECT max("lastReadAt") FROM {schema}.conversation_users""")
    assert str(cursor) >= "2026-01-05"


def test_a_killed_append_resumes_without_duplicates(chain: dict[str, Path], pg_dsn: str) -> None:
    schema = "ext_kill"
    load_base(pg_dsn, schema, chain["base"])
    args = [
        str(SYNTHGEN),
        "load",
        str(chain["ext1"]),
        "--append",
        "--dsn",
        pg_dsn,
        "--schema",
        schema,
        "--days-per-minute",
        "6",
        "--quiet",
    ]  # a day every 10 s
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    recorded = 0
    while recorded < 1 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            recorded = int(
                value(
                    pg_dsn,
                    f"""SELECT count(*) FROM {schema}.synthgen_shards
                WHERE table_name = 'append'""",
                )
            )
        except Exception:
            recorded = 0
    assert recorded == 1 and proc.poll() is None, "the append did not pause after its first day"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    resumed = synthgen(
        "load", str(chain["ext1"]), "--append", "--dsn", pg_dsn, "--schema", schema, "--quiet"
    )
    assert resumed.returncode == 0, resumed.stderr
    assert table_counts(pg_dsn, schema) == expected_counts(chain["base"], chain["ext1"])
    days = value(
        pg_dsn,
        f"""SELECT count(*) FROM {schema}.synthgen_shards
        WHERE table_name = 'append'""",
    )
    assert days == 3


@pytest.mark.parametrize("target", ["contract", "mapped"])
def test_both_targets_refuse_alike_before_touching_the_database(
    chain: dict[str, Path], pg_dsn: str, tmp_path: Path, target: str
) -> None:
    """The refusals the append driver makes for both targets: a pace of 0, a base dataset given
    as a delta (before the mapping is even read: this one does not exist)."""
    extra = ["--mapping", str(tmp_path / "absent.json")] if target == "mapped" else []
    schema = f"never_{target}"
    paced = synthgen("load", str(chain["ext1"]), "--append", "--dsn", pg_dsn, "--schema", schema,
                     "--days-per-minute", "0", *extra)  # fmt: skip
    assert paced.returncode == 1
    assert paced.stderr.strip() == "error: --days-per-minute: must be above 0 (got 0)"
    base = synthgen("load", str(chain["base"]), "--append", "--dsn", pg_dsn, "--schema", schema,
                    *extra)  # fmt: skip
    assert base.returncode == 1
    lines = base.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith("is not an extension (`synthgen extend` writes "
                                                 "those)"), base.stderr  # fmt: skip
    assert value(pg_dsn, f"SELECT count(*) FROM pg_namespace WHERE nspname LIKE '%{schema}'") == 0
