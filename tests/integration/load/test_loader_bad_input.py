"""Bad input: one-line errors, exit 1, and nothing written to the server."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthgen.manifest import dataset_digest, file_entries, file_sha256
from synthgen.schema import quote_ident

pytestmark = pytest.mark.postgres

MALICIOUS = 'x"; DROP TABLE t_victim.y; --'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _schema_exists(sql: Any, name: str) -> bool:
    return bool(sql("SELECT count(*) FROM pg_namespace WHERE nspname = $1", name)[0][0])


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_unreachable_server_masks_the_password(run: Any, dataset_one_shard: Path) -> None:
    dsn = f"postgresql://someone:s3cr3t-pw@127.0.0.1:{_free_port()}/synthgen"
    code, _, err = run("load", str(dataset_one_shard), "--dsn", dsn, "--quiet")
    assert code == 1
    line = _one_line(err)
    assert "cannot connect to postgresql://someone:***@127.0.0.1:" in line
    assert "Connection refused" in line
    assert "s3cr3t-pw" not in err


def test_malicious_schema_name_is_refused_and_never_executed(
    run: Any, load: Any, dataset_one_shard: Path, pg_dsn: str, sql: Any
) -> None:
    sql("DROP SCHEMA IF EXISTS t_victim CASCADE")
    sql("CREATE SCHEMA t_victim")
    sql("CREATE TABLE t_victim.y (id int)")
    try:
        code, _, err = load(dataset_one_shard, MALICIOUS)
        assert code == 1
        assert "not a plain identifier" in _one_line(err)
        code, _, err = run("teardown", "--dsn", pg_dsn, "--schema", MALICIOUS, "--yes")
        assert code == 1 and "not a plain identifier" in err
        assert sql("SELECT count(*) FROM t_victim.y") == [(0,)]
        assert not _schema_exists(sql, MALICIOUS)
        # The quoting the DDL uses turns the same text into a literal name, never into SQL.
        sql(f"CREATE SCHEMA {quote_ident(MALICIOUS)}")
        assert _schema_exists(sql, MALICIOUS)
        sql(f"DROP SCHEMA {quote_ident(MALICIOUS)}")
        assert sql("SELECT count(*) FROM t_victim.y") == [(0,)]
    finally:
        sql("DROP SCHEMA IF EXISTS t_victim CASCADE")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--schema", "public"], "--schema public: refused; pass --allow-public"),
        (["--schema", "pg_temp_x"], "reserved for PostgreSQL"),
        (["--schema", "Upper"], "not a plain identifier"),
        (["--resume", "--replace"], "--resume and --replace exclude each other"),
    ],
)
def test_bad_flags_are_refused(
    load: Any, dataset_one_shard: Path, schema: str, extra: list[str], message: str
) -> None:
    code, _, err = load(dataset_one_shard, schema, *extra)
    assert code == 1
    assert message in _one_line(err)


def test_missing_or_foreign_dataset_directory(
    load: Any, tmp_path: Path, schema: str, sql: Any
) -> None:
    code, _, err = load(tmp_path / "nowhere", schema)
    assert code == 1 and "no such dataset directory" in _one_line(err)
    code, _, err = load(tmp_path, schema)
    assert code == 1 and "no manifest" in _one_line(err)
    assert not _schema_exists(sql, schema)


@pytest.fixture
def dataset_copy(dataset_sharded: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "ds"
    shutil.copytree(dataset_sharded, copy)
    return copy


def _rewrite_manifest(root: Path, changed: str) -> None:
    """Record a rewritten shard's new checksum, as if the manifest described it."""
    manifest_path = root / "manifest.json"
    manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    for entry in manifest["files"]:
        if entry["path"] == changed:
            entry["sha256"] = file_sha256(root / changed)
            entry["bytes"] = (root / changed).stat().st_size
    manifest["dataset_sha256"] = dataset_digest(file_entries(manifest))
    manifest_path.write_text(json.dumps(manifest))


def test_corrupted_shard_is_refused_before_any_write(
    load: Any, dataset_copy: Path, schema: str, sql: Any
) -> None:
    shard = dataset_copy / "messages" / "part-00004.parquet"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    code, _, err = load(dataset_copy, schema)
    assert code == 1
    line = _one_line(err)
    assert "messages/part-00004.parquet: sha256 does not match the manifest" in line
    assert "nothing was written" in line
    assert not _schema_exists(sql, schema)


Mutate = Callable[[pa.Table], pa.Table]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda t: t.rename_columns(["body" if n == "content" else n for n in t.column_names]),
            "columns do not match table 'messages' (missing ['content'], unexpected ['body'])",
        ),
        (
            lambda t: t.set_column(5, "createdAt", t.column("createdAt").cast(pa.int64())),
            "column 'createdAt' is int64, expected timestamp[us, tz=UTC] (timestamptz)",
        ),
    ],
    ids=["renamed-column", "wrong-type"],
)
def test_shard_off_the_column_contract_is_refused_before_any_write(
    load: Any, dataset_copy: Path, schema: str, sql: Any, mutate: Mutate, message: str
) -> None:
    relative = "messages/part-00002.parquet"
    shard = dataset_copy / relative
    pq.write_table(mutate(pq.read_table(shard)), shard)
    _rewrite_manifest(dataset_copy, relative)
    code, _, err = load(dataset_copy, schema)
    assert code == 1
    assert f"{relative}: {message}" in _one_line(err)
    assert not _schema_exists(sql, schema)


def test_a_manifest_that_does_not_match_its_files_is_refused(
    load: Any, dataset_copy: Path, schema: str
) -> None:
    manifest_path = dataset_copy / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][0]["sha256"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest))
    code, _, err = load(dataset_copy, schema)
    assert code == 1
    assert "dataset_sha256 does not match its file list" in _one_line(err)
