"""The plan's free-disk checks, on the real filesystem (no figure is injected)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from synthgen.preview import make_preview
from synthgen.preview.disk import bytes_under, check_disks, existing_ancestor
from synthgen.spec import load_spec

MARGIN = 10**8  # other processes write to this disk meanwhile: stay 100 MB clear of the edge


def test_the_check_flips_where_free_space_runs_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the local cluster's directory would be ./.synthgen/postgres
    monkeypatch.delenv("SYNTHGEN_DSN", raising=False)
    free = shutil.disk_usage(tmp_path).free
    out = tmp_path / "not" / "yet" / "there"
    needs = 5 * 10**8
    ok = check_disks(out, needs, None, 2 * 10**8, min_free=free - needs - 7 * 10**8 - MARGIN)
    assert [c.what for c in ok] == ["--out", "server data directory"]
    assert ok[1].path == str(tmp_path / ".synthgen" / "postgres")
    assert ok[0].needs == ok[1].needs == 7 * 10**8  # one filesystem: the needs add up
    assert not any(c.short for c in ok)
    short = check_disks(out, needs, None, 2 * 10**8, min_free=free - 7 * 10**8 + MARGIN)
    assert all(c.short for c in short)
    only_out = check_disks(out, needs, None, None, min_free=free - needs + MARGIN)
    assert len(only_out) == 1 and only_out[0].short and only_out[0].needs == needs
    assert not out.exists()


def test_a_remote_server_is_not_checked(tmp_path: Path) -> None:
    checks = check_disks(tmp_path, 1, "postgresql://me@db.example.com/app", 1, min_free=0)
    assert checks[1].free is None and not checks[1].short
    assert "not on this machine" in checks[1].note


def test_a_resumed_run_needs_only_what_it_has_still_to_write(tmp_path: Path) -> None:
    (tmp_path / "ds" / "messages").mkdir(parents=True)
    (tmp_path / "ds" / "messages" / "part-00000.parquet").write_bytes(b"x" * 300_000)
    (tmp_path / "ds" / "manifest.json").write_bytes(b"{}")
    assert bytes_under(tmp_path / "ds") == 300_002
    assert bytes_under(tmp_path / "missing") == 0
    spec = load_spec()
    fresh = make_preview(spec, "dev", 0.02, "d", tmp_path / "ds", loads=False)
    resumed = make_preview(spec, "dev", 0.02, "d", tmp_path / "ds", loads=False, written=300_002)
    assert fresh.disks[0].needs == pytest.approx(fresh.parquet_bytes)
    assert resumed.disks[0].needs == pytest.approx(fresh.parquet_bytes - 300_002)
    assert existing_ancestor(tmp_path / "a" / "b") == tmp_path
