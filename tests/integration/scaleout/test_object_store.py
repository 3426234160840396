"""Datasets on an S3-compatible server (moto, on 127.0.0.1): generate, resume, validate and load
through the installed `synthgen`, byte-identical to a local build."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pyarrow.fs as pafs
import pytest

from synthgen.postgres.connect import connect

from .conftest import BUCKET, SYNTHGEN, digests, without_timings


def synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=600)


def _generate(spec: Any, uri: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return synthgen("generate", "--band", "dev", "--scale", "0.02", "--seed", "scale",
                    "--spec", str(spec), "--out", uri, "--quiet", "--json", *extra)  # fmt: skip


def _manifest(fs: pafs.S3FileSystem, prefix: str) -> dict[str, Any]:
    with fs.open_input_stream(f"{BUCKET}/{prefix}/manifest.json") as stream:
        manifest: dict[str, Any] = json.loads(stream.read())
    return manifest


def _put(fs: pafs.S3FileSystem, key: str, data: bytes) -> None:
    with fs.open_output_stream(f"{BUCKET}/{key}") as sink:
        sink.write(data)


@pytest.fixture(scope="module")
def s3_dataset(s3_endpoint: str, small_spec: Any, reference: dict[str, Any]) -> str:
    """The reference dataset generated straight into s3://BUCKET/ds (local executor)."""
    result = _generate(small_spec, f"s3://{BUCKET}/ds", "--workers", "2")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["out"] == f"s3://{BUCKET}/ds"
    assert summary["dataset_sha256"] == reference["dataset_sha256"]
    return f"s3://{BUCKET}/ds"


def test_generate_writes_the_reference_bytes_and_resume_trusts_only_verified_shards(
    s3_dataset: str, s3fs: pafs.S3FileSystem, small_spec: Any, reference: dict[str, Any]
) -> None:
    assert without_timings(_manifest(s3fs, "ds")) | {"command": None} == without_timings(
        reference
    ) | {"command": None}
    keys = {
        i.path.removeprefix(f"{BUCKET}/ds/")
        for i in s3fs.get_file_info(pafs.FileSelector(f"{BUCKET}/ds", recursive=True))
        if i.type == pafs.FileType.File
    }
    assert {f["path"] for f in reference["files"]} <= keys
    assert len([k for k in keys if k.startswith(".synthgen/shards/")]) == 2 * 20
    # three shards spoiled: one file missing, one truncated (a partial object), and one whose
    # done-record is gone though its files are whole (a worker killed before its last PUT)
    s3fs.delete_file(f"{BUCKET}/ds/messages/part-00003.parquet")
    with s3fs.open_input_stream(f"{BUCKET}/ds/read_receipts/part-00007.parquet") as stream:
        whole = stream.read()
    _put(s3fs, "ds/read_receipts/part-00007.parquet", whole[: len(whole) // 2])
    s3fs.delete_file(f"{BUCKET}/ds/.synthgen/shards/messages-00011.json")
    result = _generate(small_spec, s3_dataset, "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["shards_resumed"] == 17
    rebuilt = _manifest(s3fs, "ds")
    assert digests(rebuilt) == digests(reference)
    with s3fs.open_input_stream(f"{BUCKET}/ds/read_receipts/part-00007.parquet") as stream:
        assert stream.read() == whole


def test_validate_reads_the_dataset_from_the_store(s3_dataset: str, small_spec: Any) -> None:
    result = synthgen("validate", s3_dataset, "--spec", str(small_spec), "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("decision: GO")


def _sql(dsn: str) -> Callable[[str], list[tuple[Any, ...]]]:
    def run(text: str) -> list[tuple[Any, ...]]:
        with connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(text)
            return list(cur.fetchall()) if cur.description else []

    return run


def test_load_from_the_store(s3_dataset: str, pg_dsn: str, reference: dict[str, Any]) -> None:
    sql = _sql(pg_dsn)
    sql("DROP SCHEMA IF EXISTS s3_load CASCADE")
    try:
        result = synthgen("load", s3_dataset, "--dsn", pg_dsn, "--schema", "s3_load",
                          "--jobs", "2", "--quiet", "--json")  # fmt: skip
        assert result.returncode == 0, result.stderr
        for table in ("messages", "read_receipts", "users"):
            rows = sql(f'SELECT count(*) FROM s3_load."{table}"')[0][0]
            assert rows == reference["counts"][table]
    finally:
        sql("DROP SCHEMA IF EXISTS s3_load CASCADE")


def test_dask_workers_write_straight_to_the_store(
    s3_endpoint: str, s3fs: pafs.S3FileSystem, small_spec: Any, reference: dict[str, Any]
) -> None:
    result = _generate(small_spec, f"s3://{BUCKET}/dask", "--executor", "dask", "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert digests(_manifest(s3fs, "dask")) == digests(reference)


def test_store_refusals_are_one_line_and_exit_1(
    s3_dataset: str, s3fs: pafs.S3FileSystem, small_spec: Any
) -> None:
    _put(s3fs, "foreign/notes.txt", b"not a dataset")
    cases = {
        f"s3://{BUCKET}/foreign": "not empty and not a synthgen dataset (notes.txt)",
        "s3://no-such-bucket/ds": "bucket 'no-such-bucket' does not exist",
    }
    for uri, message in cases.items():
        result = _generate(small_spec, uri)
        assert result.returncode == 1, result.stderr
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    keys = s3fs.get_file_info(pafs.FileSelector(f"{BUCKET}/foreign", recursive=True))
    assert [i.path for i in keys] == [f"{BUCKET}/foreign/notes.txt"]
    bad = _generate(small_spec, f"s3://{BUCKET}/x", "--storage-option", "nonsense")
    assert bad.returncode == 1
    assert "--storage-option 'nonsense': expected key=value" in bad.stderr
    args = ["--band", "dev", "--scale", "0.02", "--seed", "other", "--spec", str(small_spec)]
    other_seed = synthgen("generate", *args, "--out", f"s3://{BUCKET}/ds", "--quiet")
    assert other_seed.returncode == 1
    assert other_seed.stderr.startswith(f"error: --out s3://{BUCKET}/ds: holds a dataset built ")
    assert "seed 'scale' != 'other'" in other_seed.stderr
    missing = synthgen("validate", f"s3://{BUCKET}/foreign")
    assert missing.returncode == 1
    assert "no manifest" in missing.stderr
