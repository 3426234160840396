"""Which file a baseline is written to, and whose parameters a post baseline reuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.verify.baseline import baseline_files


def test_a_post_baseline_reuses_the_pre_baseline_beside_it(tmp_path: Path) -> None:
    (tmp_path / "baseline-pre.json").write_text("{}")
    out, params = baseline_files("post", tmp_path / "baseline-post.json", None)
    assert (out, params) == (tmp_path / "baseline-post.json", tmp_path / "baseline-pre.json")


def test_given_parameters_win_and_a_pre_baseline_reuses_none(tmp_path: Path) -> None:
    (tmp_path / "baseline-pre.json").write_text("{}")
    other = tmp_path / "elsewhere.json"
    assert baseline_files("post", tmp_path / "b.json", other) == (tmp_path / "b.json", other)
    assert baseline_files("pre", tmp_path / "baseline-pre.json", None)[1] is None


def test_without_out_the_label_names_the_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert baseline_files("post", None, None) == (Path("baseline-post.json"), None)
    (tmp_path / "baseline-pre.json").write_text("{}")
    assert baseline_files("post", None, None) == (
        Path("baseline-post.json"),
        Path("baseline-pre.json"),
    )
