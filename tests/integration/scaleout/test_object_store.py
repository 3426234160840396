"""Datasets on an S3-compatible server (moto, on 127.0.0.1): generate, resume, validate and load
through the installed `synthgen`, byte-identical to a local build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pytest

from support.paths import SYNTHGEN
from support.scaleout import BUCKET, digests, without_timings
from synthgen.appschema.migrate import run_migrations
from synthgen.errors import DatasetError
from synthgen.load.merge import merged
from synthgen.load.shards import check_contract, open_dataset, verify_checksums
from synthgen.postgres.connect import connect
from synthgen.storage import StoredPath, dataset_path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "prisma-chat"


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


@pytest.fixture(scope="module")
def local_copy(s3_dataset: str, s3_endpoint: str, tmp_path_factory: Any) -> Path:
    """A byte-for-byte local copy of the stored dataset, taken once the resume test has put it
    back together."""
    target = tmp_path_factory.mktemp("s3-copy") / "ds"
    port = s3_endpoint.rsplit(":", 1)[1]
    pafs.copy_files(
        f"{BUCKET}/ds",
        str(target),
        source_filesystem=pafs.S3FileSystem(endpoint_override=f"127.0.0.1:{port}", scheme="http"),
        destination_filesystem=pafs.LocalFileSystem(),
    )
    return target


def _rounded(value: Any) -> Any:
    """Floats to 9 significant digits: DuckDB's parallel sums add in the order its threads
    finish, so a mean may differ in its last bits from one read to the next."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _judged(report: dict[str, Any]) -> dict[str, Any]:
    """What the gate decided and measured: everything but where the data was and how long."""
    checks = [{k: v for k, v in c.items() if k not in ("seconds", "sql")} for c in report["checks"]]
    kept = {k: v for k, v in report.items() if k not in ("dataset", "seconds", "checks")}
    return dict(_rounded(kept | {"checks": checks}))


def test_validate_reads_the_store_in_place_with_the_local_verdicts(
    s3_dataset: str, s3fs: pafs.S3FileSystem, local_copy: Path, small_spec: Any, tmp_path: Path
) -> None:
    reports = {}
    for name, target in {"local": str(local_copy), "stored": s3_dataset}.items():
        out = tmp_path / f"{name}.json"
        # relaxed: at dev x 0.02 the regular rooms' figures are within their noise at +/-15 %
        # (the gate would say too small to judge); at +/-30 % they are judged, GO
        result = synthgen(
            "validate", target, "--spec", str(small_spec), "--tolerance", "relaxed",
            "--json", str(out),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "decision: GO" in result.stdout
        reports[name] = json.loads(out.read_text())
    assert reports["stored"]["dataset"] == s3_dataset
    assert len(reports["stored"]["checks"]) == len(reports["local"]["checks"]) > 10
    assert _judged(reports["stored"]) == _judged(reports["local"])
    # DuckDB read the objects in the store: the per-file order check names them by their URI
    layout = next(c for c in reports["stored"]["checks"] if c["name"] == "physical_layout")
    shard = f"s3://{BUCKET}/ds/messages/part-00000.parquet"
    assert any(shard in statement["sql"] for statement in layout["sql"])
    # and its report lies beside the stored dataset, as it does beside a local one
    with s3fs.open_input_stream(f"{BUCKET}/ds/fidelity-report.json") as stream:
        beside = json.loads(stream.read())
    assert _judged(beside) == _judged(reports["local"])


def test_the_loaders_readers_stream_the_stored_shards(s3_dataset: str, local_copy: Path) -> None:
    """The load's code path on a stored dataset: manifest, checksums, contract and the arrival
    merge all read the objects where they lie, and give what they give on the local copy."""
    stored, local = open_dataset(dataset_path(s3_dataset)), open_dataset(local_copy)
    assert isinstance(stored.root, StoredPath)
    assert stored.manifest == local.manifest
    shards = list(stored.shards)
    verify_checksums(stored, shards, jobs=2)
    check_contract(stored, shards)
    for table in ("messages", "read_receipts"):
        files = [e for e in shards if e.table == table]
        assert len(files) == 20
        got = pa.concat_tables(merged(stored.root, files, table, 4096))
        want = pa.concat_tables(merged(local.root, files, table, 4096))
        assert got.num_rows == stored.counts[table]
        assert got.equals(want)


def _sql(dsn: str) -> Callable[[str], list[tuple[Any, ...]]]:
    def run(text: str) -> list[tuple[Any, ...]]:
        with connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(text)
            return list(cur.fetchall()) if cur.description else []

    return run


def test_load_from_the_store_matches_the_local_load(
    s3_dataset: str, local_copy: Path, pg_dsn: str, reference: dict[str, Any]
) -> None:
    sql = _sql(pg_dsn)
    schemas = {"s3_load": s3_dataset, "s3_local_load": str(local_copy)}
    counts: dict[str, dict[str, int]] = {}
    try:
        for schema, source in schemas.items():
            sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            result = synthgen("load", source, "--dsn", pg_dsn, "--schema", schema,
                              "--jobs", "2", "--quiet", "--json")  # fmt: skip
            assert result.returncode == 0, result.stderr
            counts[schema] = {
                table: sql(f'SELECT count(*) FROM {schema}."{table}"')[0][0]
                for table in reference["counts"]
            }
        assert counts["s3_load"] == counts["s3_local_load"] == reference["counts"]
        newest = 'SELECT max(id), max("createdAt") FROM {}.messages'
        assert sql(newest.format("s3_load")) == sql(newest.format("s3_local_load"))
    finally:
        for schema in schemas:
            sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _writes(args: list[str], env: dict[str, str]) -> tuple[int, int, str]:
    """Run a command; (exit code, bytes it wrote to local files by the kernel's count of its
    output blocks, stderr)."""
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_oublock * 512, stderr


def test_validate_and_load_copy_nothing_to_local_disk(
    s3_dataset: str, local_copy: Path, small_spec: Any, pg_dsn: str, tmp_path: Path
) -> None:
    size = sum(f.stat().st_size for f in local_copy.rglob("*") if f.is_file())
    env = os.environ | {"TMPDIR": str(tmp_path)}
    # the kernel counts what a process writes: a local copy of the dataset shows in full
    copy = "import shutil, sys; shutil.copytree(sys.argv[1], sys.argv[2])"
    code, written, _ = _writes(
        [sys.executable, "-c", copy, str(local_copy), str(tmp_path / "c")], env
    )
    assert code == 0
    assert written >= 0.9 * size, f"{tmp_path}: this filesystem does not count written blocks"
    sql = _sql(pg_dsn)
    sql("DROP SCHEMA IF EXISTS s3_no_copy CASCADE")
    try:
        for args in (
            [
                "validate",
                s3_dataset,
                "--spec",
                str(small_spec),
                "--tolerance",
                "relaxed",
                "--quiet",
            ],
            ["load", s3_dataset, "--dsn", pg_dsn, "--schema", "s3_no_copy", "--quiet"],
        ):
            code, written, stderr = _writes([str(SYNTHGEN), *args], env)
            assert code == 0, stderr
            assert written < 0.05 * size, f"{args[0]} wrote {written} bytes locally ({size})"
    finally:
        sql("DROP SCHEMA IF EXISTS s3_no_copy CASCADE")


def test_mapped_load_from_the_store(
    s3_dataset: str, pg_dsn: str, tmp_path: Path, reference: dict[str, Any]
) -> None:
    """Into the prisma-chat example's own tables, straight from the store: exact counts."""
    sql = _sql(pg_dsn)
    schema = "s3_app"
    sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    sql(f"DROP SCHEMA IF EXISTS synthgen_{schema} CASCADE")
    try:
        run_migrations(pg_dsn, schema, str(EXAMPLE / "schema.sql"))
        mapping = json.loads((EXAMPLE / "mapping.json").read_text()) | {"schema": schema}
        path = tmp_path / "mapping.json"
        path.write_text(json.dumps(mapping))
        result = synthgen("load", s3_dataset, "--dsn", pg_dsn, "--mapping", str(path),
                          "--jobs", "2", "--quiet", "--json")  # fmt: skip
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        counts = reference["counts"]
        assert report["counts"]["Message"] == counts["messages"]
        assert report["counts"]["MessageRead"] == counts["read_receipts"]
        assert report["counts"]["User"] == counts["users"]
        assert sql(f'SELECT count(*) FROM {schema}."Message"')[0][0] == counts["messages"]
    finally:
        sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        sql(f"DROP SCHEMA IF EXISTS synthgen_{schema} CASCADE")


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


def test_a_tampered_or_missing_stored_shard_is_named_and_refused(
    s3_dataset: str, s3fs: pafs.S3FileSystem
) -> None:
    """The checksums of stored objects are checked as a local dataset's are: a shard of the
    right size but other bytes, and a missing one, are each named; validate exits 1."""
    for info in s3fs.get_file_info(pafs.FileSelector(f"{BUCKET}/ds", recursive=True)):
        if info.type == pafs.FileType.File:
            s3fs.copy_file(info.path, info.path.replace(f"{BUCKET}/ds/", f"{BUCKET}/bad/", 1))
    changed, gone = "messages/part-00003.parquet", "users/part-00000.parquet"
    with s3fs.open_input_stream(f"{BUCKET}/bad/{changed}") as stream:
        data = bytearray(stream.read())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    _put(s3fs, f"bad/{changed}", bytes(data))
    s3fs.delete_file(f"{BUCKET}/bad/{gone}")

    stored = open_dataset(dataset_path(f"s3://{BUCKET}/bad"))
    with pytest.raises(DatasetError) as refused:
        verify_checksums(stored, list(stored.shards), jobs=2)
    assert f"{changed}: sha256 does not match the manifest" in str(refused.value)
    assert f"{gone}: missing" in str(refused.value)
    missing = synthgen("validate", f"s3://{BUCKET}/bad")
    assert missing.returncode == 1, missing.stderr
    assert (
        missing.stderr
        == f"error: s3://{BUCKET}/bad/users: missing table 'users' (no Parquet files)\n"
    )
    s3fs.copy_file(f"{BUCKET}/ds/{gone}", f"{BUCKET}/bad/{gone}")  # only the changed one left
    tampered = synthgen("validate", f"s3://{BUCKET}/bad")
    assert tampered.returncode == 1, tampered.stderr
    assert f"{changed}: sha256 does not match the manifest" in tampered.stderr
    assert len(tampered.stderr.strip().splitlines()) == 1
