"""synthgen.files: a file is replaced whole or left as it was, and no temporary name stays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from synthgen.files import (
    TMP_MARK,
    atomic_path,
    json_text,
    read_json,
    temp_path,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_text_replaces_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old\n")
    assert write_text_atomic(target, "new é\n") == target
    assert target.read_bytes() == "new é\n".encode()
    assert _names(tmp_path) == ["report.json"]


def test_a_failed_text_write_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old\n")
    # a lone surrogate cannot be encoded: the write fails after the temporary file was opened
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(target, "half \udc80 written")
    assert target.read_text() == "old\n"
    assert _names(tmp_path) == ["report.json"]


def test_a_failure_inside_the_block_removes_a_partly_written_temporary(tmp_path: Path) -> None:
    target = tmp_path / "counts.npz"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="stopped"), atomic_path(target, suffix=".npz") as tmp:
        np.savez(tmp, a=np.arange(3))
        assert tmp.exists() and TMP_MARK in tmp.name
        raise RuntimeError("stopped")
    assert target.read_bytes() == b"old"
    assert _names(tmp_path) == ["counts.npz"]


def test_numpy_writes_through_a_suffixed_temporary(tmp_path: Path) -> None:
    target = tmp_path / "counts.npz"
    with atomic_path(target, suffix=".npz") as tmp:
        np.savez(tmp, a=np.arange(4))  # savez adds ".npz" to a name without it
    with np.load(target) as arrays:
        assert arrays["a"].tolist() == [0, 1, 2, 3]
    assert _names(tmp_path) == ["counts.npz"]


def test_a_directory_is_renamed_into_place_or_removed(tmp_path: Path) -> None:
    out = tmp_path / "statements"
    with atomic_path(out) as tmp:
        tmp.mkdir()
        (tmp / "a.sql").write_text("select 1;\n")
    assert _names(out) == ["a.sql"]
    other = tmp_path / "other"
    with pytest.raises(ValueError), atomic_path(other) as tmp:
        (tmp / "sub").mkdir(parents=True)
        raise ValueError
    assert _names(tmp_path) == ["statements"]


def test_a_leftover_of_the_same_process_id_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    leftover = temp_path(target)
    leftover.mkdir()  # e.g. a directory an interrupted run left under the same name
    (leftover / "stale").write_text("x")
    write_text_atomic(target, "fresh\n")
    assert target.read_text() == "fresh\n"
    assert _names(tmp_path) == ["state.json"]


def test_json_keeps_the_formats_synthgen_writes(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "doc.json"
    text = write_json_atomic(target, {"b": 1, "a": [1, 2]}, sort_keys=True, parents=True)
    assert text == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    assert target.read_text() == text
    assert json_text({"b": 1, "a": 2}) == '{\n  "b": 1,\n  "a": 2\n}\n'
    assert json.loads(json_text({"t": Path("x")}, default=str)) == {"t": "x"}


def test_a_failed_json_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "doc.json"
    target.write_text("{}\n")
    with pytest.raises(TypeError):
        write_json_atomic(target, {"x": object()})
    assert target.read_text() == "{}\n"
    assert _names(tmp_path) == ["doc.json"]


def test_bytes_and_a_missing_directory(tmp_path: Path) -> None:
    target = tmp_path / "blob.bin"
    write_bytes_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    with pytest.raises(FileNotFoundError):
        write_bytes_atomic(tmp_path / "absent" / "blob.bin", b"x")
    assert _names(tmp_path) == ["blob.bin"]


class _Bad(Exception):
    pass


def test_read_json_names_the_file_in_one_line(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text('{"a": [1, 2]}')
    assert read_json(good, "--x good.json", _Bad) == {"a": [1, 2]}
    with pytest.raises(_Bad, match=r"^--x nowhere: not found$"):
        read_json(tmp_path / "nowhere.json", "--x nowhere", _Bad)
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "a": \n')
    with pytest.raises(_Bad, match=r"^B: not valid JSON \(line 3\)$"):
        read_json(broken, "B", _Bad)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"a": "\xe9"}')
    with pytest.raises(_Bad, match=r"^L: not valid JSON$"):
        read_json(latin, "L", _Bad)
    with pytest.raises(_Bad, match=r"^D: cannot read \(Is a directory\)$"):
        read_json(tmp_path, "D", _Bad)
