"""`synthgen plan`, `generate --dry-run`, `run`'s disk refusal and `validate`'s memory flags,
through the installed executable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synthgen.generate.blueprint import make_plan
from synthgen.preview.rows import table_rows
from synthgen.spec import load_spec

SYNTHGEN = str(Path(sys.executable).parent / "synthgen")
HUGE = "1000TB"  # more free space than any disk here has: the check must say it will not fit
# no server listens there: with the guard's override the run reaches its plan without one
NO_SERVER = ["--dsn", "postgresql://nobody@127.0.0.1:1/none", "--i-know-this-is-not-production"]


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SYNTHGEN_DSN"}
    return subprocess.run(
        [SYNTHGEN, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def test_plan_json_has_the_plans_rows_and_checks_the_disks(tmp_path: Path) -> None:
    proc = _run(
        "plan",
        "--band",
        "dev",
        "--scale",
        "0.02",
        "--seed",
        "cli",
        "--json",
        "--out",
        str(tmp_path / "ds"),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    spec = load_spec()
    expected = table_rows(spec, make_plan(spec, "dev", 0.02, "cli"))
    for table, estimate in expected.items():
        assert got["tables"][table]["exact"] == estimate.exact
        assert got["tables"][table]["rows"] == pytest.approx(estimate.mean, abs=0.5)
    assert got["tables"]["messages"]["rows"] == 100_000
    assert got["parquet_bytes"] > 1e6 and got["postgres_bytes"] > got["parquet_bytes"]
    assert got["fits"] is True and not proc.stderr
    out_disk, server_disk = got["disks"]
    assert out_disk["what"] == "--out" and out_disk["free_bytes"] > 0
    # no DSN: the local cluster's directory under the working directory, not created by plan
    assert server_disk["path"] == str(tmp_path / ".synthgen" / "postgres")
    assert not (tmp_path / ".synthgen").exists() and not (tmp_path / "ds").exists()
    assert got["validate_memory_limit_bytes"] == 2 << 30
    assert 0 < got["validate_peak_bytes"] < (2 << 30) + (1 << 30)
    assert set(got["seconds"]) == {"generate", "validate", "load", "indexes"}
    assert "exact" in got["method"] and "measured" in got["method"]


def test_plan_text_and_its_disk_warning(tmp_path: Path) -> None:
    proc = _run(
        "plan", "--band", "dev", "--scale", "0.02", "--seed", "0", "--out", str(tmp_path),
        "--min-free", HUGE,
    )  # fmt: skip
    assert proc.returncode == 0
    assert "read_receipts" in proc.stdout and "WILL NOT FIT" in proc.stdout
    assert "method: rows:" in proc.stdout
    warning = proc.stderr.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith("warning: the disk will not hold")
    assert "--min-free" in warning[0]


def test_plan_against_a_server_checks_its_data_directory(tmp_path: Path, pg_dsn: str) -> None:
    proc = _run(
        "plan",
        "--band",
        "dev",
        "--scale",
        "0.02",
        "--dsn",
        pg_dsn,
        "--json",
        "--out",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    server = json.loads(proc.stdout)["disks"][1]
    assert server["note"].startswith("asked of the server")
    assert (Path(server["path"]) / "PG_VERSION").exists()
    assert server["free_bytes"] > 0


def test_plan_bad_input(tmp_path: Path) -> None:
    proc = _run("plan", "--band", "dev", "--min-free", "lots")
    assert proc.returncode == 2 and "--min-free" in proc.stderr
    proc = _run("plan", "--band", "nope")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "nope" in proc.stderr


def test_generate_dry_run_prints_the_plan_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    dry = _run(
        "generate",
        "--band",
        "dev",
        "--scale",
        "0.02",
        "--seed",
        "cli",
        "--out",
        str(out),
        "--dry-run",
        "--json",
    )
    assert dry.returncode == 0, dry.stderr
    plan = _run(
        "plan", "--band", "dev", "--scale", "0.02", "--seed", "cli", "--out", str(out), "--json"
    )
    dry_json, plan_json = json.loads(dry.stdout), json.loads(plan.stdout)
    assert dry_json["tables"] == plan_json["tables"]
    assert [d["what"] for d in dry_json["disks"]] == ["--out"]  # generate loads nothing
    assert not out.exists()


def test_run_refuses_when_the_disk_will_not_hold_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _run(
        "run",
        "--band",
        "dev",
        "--scale",
        "0.02",
        "--out",
        str(out),
        *NO_SERVER,
        "--min-free",
        HUGE,
    )
    assert proc.returncode == 1
    assert "plan: band dev x 0.02" in proc.stderr  # the plan comes first
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "will not hold" in errors[0] and "--force" in errors[0]
    assert not out.exists()


def test_run_force_goes_past_the_disk_check(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _run(
        "run",
        "--band",
        "dev",
        "--scale",
        "0.02",
        "--out",
        str(out),
        "--schema",
        "Bad-Name",
        *NO_SERVER,
        "--min-free",
        HUGE,
        "--force",
    )
    assert "going on (--force)" in proc.stderr
    assert proc.returncode == 1 and "Bad-Name" in proc.stderr  # stopped by the next check


def test_validate_memory_flags(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    built = _run("generate", "--band", "dev", "--scale", "0.02", "--out", str(ds), "--quiet")
    assert built.returncode == 0, built.stderr
    spill = tmp_path / "spill"
    proc = _run(
        "validate",
        str(ds),
        "--quiet",
        "--memory-limit",
        "300MB",
        "--threads",
        "1",
        "--temp-dir",
        str(spill),
    )
    assert proc.returncode == 0, proc.stderr
    assert spill.is_dir() and list(spill.iterdir()) == []
    proc = _run("validate", str(ds), "--memory-limit", "lots")
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "--memory-limit" in proc.stderr


def test_plan_names_its_seed_and_warns_when_none_was_given(tmp_path: Path) -> None:
    common = ["plan", "--band", "dev", "--scale", "0.05", "--out", str(tmp_path), "--json"]
    unseeded = _run(*common)
    assert unseeded.returncode == 0, unseeded.stderr
    assert unseeded.stderr.strip() == (
        "warning: no --seed given: this plans seed '0', the one generate uses without --seed; "
        "another seed builds another skeleton (members, attachments, receipts differ), so pass "
        "plan the --seed you will pass generate"
    )
    zero = _run(*common, "--seed", "0")
    assert zero.returncode == 0 and zero.stderr == ""
    plans = [json.loads(p.stdout) for p in (zero, unseeded)]
    assert plans[0]["tables"] == plans[1]["tables"] and plans[1]["seed"] == "0"  # the default
    seeded = _run(*common, "--seed", "42")
    assert seeded.returncode == 0 and seeded.stderr == ""
    rows = {s: json.loads(p.stdout)["tables"] for s, p in (("0", zero), ("42", seeded))}
    receipts = {s: t["read_receipts"]["rows"] for s, t in rows.items()}
    assert receipts["0"] != receipts["42"], receipts  # the seed changes the skeleton
    text = _run("plan", "--band", "dev", "--scale", "0.05", "--out", str(tmp_path))
    assert text.stdout.splitlines()[0] == "plan: band dev x 0.05, seed '0' (nothing generated)"
