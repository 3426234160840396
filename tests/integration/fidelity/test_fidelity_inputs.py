"""Unreadable datasets: one-line errors naming the file and column, exit code 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest


def _one_line_error(kit: Any, args: list[str]) -> str:
    result = kit.run_validate(*args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def test_empty_directory(kit: Any, tmp_path: Path) -> None:
    line = _one_line_error(kit, [str(tmp_path)])
    assert f"{tmp_path}: empty directory" in line


def test_not_a_directory(kit: Any, tmp_path: Path) -> None:
    line = _one_line_error(kit, [str(tmp_path / "nowhere")])
    assert "not a directory" in line


def test_missing_table(kit: Any, fid_copy: Path) -> None:
    shutil.rmtree(fid_copy / "read_receipts")
    line = _one_line_error(kit, [str(fid_copy)])
    assert "missing table 'read_receipts'" in line
    assert str(fid_copy / "read_receipts") in line


def test_column_of_the_wrong_type(kit: Any, fid_copy: Path) -> None:
    kit.rewrite_table(fid_copy, "users", "SELECT * REPLACE (CAST(id AS VARCHAR) AS id) FROM users")
    line = _one_line_error(kit, [str(fid_copy)])
    assert "users/part-00000.parquet: column 'id' has type string" in line
    assert "int64" in line


def test_missing_column(kit: Any, fid_copy: Path) -> None:
    kit.rewrite_table(
        fid_copy, "conversations", 'SELECT * EXCLUDE ("updatedAt") FROM conversations'
    )
    line = _one_line_error(kit, [str(fid_copy)])
    assert "conversations/part-00000.parquet: column 'updatedAt' is missing" in line


def test_truncated_parquet_file(kit: Any, fid_copy: Path) -> None:
    shard = sorted((fid_copy / "messages").glob("*.parquet"))[0]
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 2])
    line = _one_line_error(kit, [str(fid_copy)])
    assert "files do not match manifest.json: messages/part-00000.parquet:" in line
    assert f"{len(data) // 2} bytes, the manifest says {len(data)}" in line
    kit.reseal_manifest(fid_copy)  # a manifest that vouches for the torn file
    line = _one_line_error(kit, [str(fid_copy)])
    assert f"{shard}: not a readable Parquet file" in line


def test_a_changed_byte_is_caught_by_the_checksum(kit: Any, fid_copy: Path) -> None:
    shard = sorted((fid_copy / "messages").glob("*.parquet"))[0]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other content
    shard.write_bytes(bytes(data))
    line = _one_line_error(kit, [str(fid_copy)])
    assert "messages/part-00000.parquet: sha256 does not match the manifest" in line


def test_a_file_the_manifest_does_not_list(kit: Any, fid_copy: Path) -> None:
    shard = sorted((fid_copy / "messages").glob("*.parquet"))[0]
    shutil.copy(shard, fid_copy / "messages" / "part-09999.parquet")
    line = _one_line_error(kit, [str(fid_copy)])
    assert "messages/part-09999.parquet: a Parquet file the manifest does not list" in line


def test_an_edited_dataset_sha256(kit: Any, fid_copy: Path) -> None:
    manifest = fid_copy / "manifest.json"
    text = manifest.read_text()
    digest = json.loads(text)["dataset_sha256"]
    manifest.write_text(text.replace(digest, "0" * 64))
    line = _one_line_error(kit, [str(fid_copy)])
    assert "dataset_sha256 does not match the manifest's file list" in line


def test_missing_manifest(kit: Any, fid_copy: Path) -> None:
    (fid_copy / "manifest.json").unlink()
    line = _one_line_error(kit, [str(fid_copy)])
    assert "no manifest" in line


@pytest.mark.parametrize("flag", ["--debug"])
def test_debug_shows_the_traceback(tmp_path: Path, flag: str) -> None:
    from click.testing import CliRunner

    from synthgen.cli import cli
    from synthgen.errors import DatasetError

    result = CliRunner().invoke(cli, [flag, "validate", str(tmp_path)])
    assert isinstance(result.exception, DatasetError)


def test_no_spill_directory_is_left_behind(fid_copy: Path, tmp_path: Path) -> None:
    from synthgen.errors import DatasetError
    from synthgen.fidelity.dataset import SPILL_DIR, connect, open_dataset

    dataset = open_dataset(fid_copy)
    with connect(dataset) as con:
        assert con.execute("SELECT count(*) FROM users").fetchone() == (150,)
        spills = list((fid_copy / SPILL_DIR).glob("fidelity-spill-*"))
        assert len(spills) == 1  # the private spill directory, under the dataset
        setting = con.execute("SELECT current_setting('temp_directory')").fetchone()
        assert setting == (str(spills[0]),)
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()
        assert limit is not None and limit[0] == "2.0 GiB"
    assert not list(fid_copy.glob(f"{SPILL_DIR}/fidelity-spill-*"))
    spill_root = tmp_path / "spill"
    with connect(dataset, threads=1, memory_limit="300MB", temp_dir=spill_root) as con:
        assert con.execute("SELECT current_setting('threads')").fetchone() == (1,)
        assert len(list(spill_root.iterdir())) == 1
    assert list(spill_root.iterdir()) == []
    with pytest.raises(DatasetError, match="--memory-limit"), connect(dataset, memory_limit="lots"):
        pass
    assert list(spill_root.iterdir()) == []
    assert not list(fid_copy.glob(f"{SPILL_DIR}/fidelity-spill-*"))
