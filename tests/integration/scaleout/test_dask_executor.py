"""Shard tasks on a Dask LocalCluster of two worker processes: the same bytes and manifest as
the local executor, after a worker is killed mid-build, and after the client is killed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from support.paths import SYNTHGEN
from support.scaleout import digests, without_timings
from synthgen.generate.build import BuildOptions, BuildProgress, build_dataset
from synthgen.generate.dask_executor import DaskPool
from synthgen.spec import load_spec


def _opts(out: Path, spec: Path) -> BuildOptions:
    return BuildOptions("dev", 0.02, "scale", out, workers=2, spec_path=str(spec))


def test_dask_build_is_identical_to_the_local_one(
    tmp_path: Path, small_spec: Path, reference: dict[str, Any], dask_cluster: Any
) -> None:
    lines: list[str] = []
    seen: list[BuildProgress] = []
    pool = DaskPool(dask_cluster.scheduler_address, 2, lines.append)
    opts = _opts(tmp_path / "ds", small_spec)
    report = build_dataset(load_spec(small_spec), opts, seen.append, pool)
    assert report.manifest["shards"] == reference["shards"] == 20
    # progress counts shards finished on any worker: once before the tasks, then one per shard
    assert [p.shards_done for p in seen] == list(range(21))
    assert {p.shards_total for p in seen} == {20}
    assert [p.messages_done for p in seen] == sorted(p.messages_done for p in seen)
    assert seen[-1].messages_done == seen[-1].messages_total == reference["counts"]["messages"]
    assert report.shards_built == 20
    assert digests(report.manifest) == digests(reference)
    assert without_timings(report.manifest) == without_timings(reference)
    written = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert without_timings(written) == without_timings(reference)
    # the dashboard's link (bokeh comes with the dask extra), and the dashboard answers there
    assert len(lines) == 1, lines
    found = re.fullmatch(
        rf"dask: 2 worker processes \(one task at a time each\) on "
        rf"{re.escape(dask_cluster.scheduler_address)}; "
        r"dashboard (http://127\.0\.0\.1:\d+/status)",
        lines[0],
    )
    assert found, lines[0]
    with urllib.request.urlopen(found[1], timeout=30) as page:
        assert page.status == 200
        assert b"bokeh" in page.read().lower()


def test_a_worker_killed_mid_build_still_gives_the_identical_dataset(
    tmp_path: Path, small_spec: Path, reference: dict[str, Any], dask_cluster: Any
) -> None:
    from distributed import Client

    with Client(dask_cluster) as client:
        pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    killed: list[int] = []

    def kill_once(done: BuildProgress) -> None:
        if done.shards_done > 0 and not killed:  # a first shard is in: the others are running
            os.kill(victim, signal.SIGKILL)
            killed.append(done.shards_done)

    pool = DaskPool(dask_cluster.scheduler_address, 2)
    out = tmp_path / "ds"
    report = build_dataset(load_spec(small_spec), _opts(out, small_spec), kill_once, pool)
    assert killed and killed[0] < report.manifest["shards"]
    assert digests(report.manifest) == digests(reference)
    assert not list(out.rglob("*.tmp-*"))  # a half-written file never stays, never counts
    with Client(dask_cluster) as client:  # the nanny restarted the worker
        client.wait_for_workers(2, timeout=60)
        assert victim not in client.run(os.getpid).values()


def _generate(out: Path, spec: Path, scheduler: str, *extra: str) -> list[str]:
    return [str(SYNTHGEN), "generate", "--band", "dev", "--scale", "0.02", "--seed", "scale",
            "--spec", str(spec), "--out", str(out), "--executor", "dask",
            "--scheduler", scheduler, "--quiet", *extra]  # fmt: skip


def test_a_worker_killed_mid_build_of_the_installed_command(
    tmp_path: Path, small_spec: Path, reference: dict[str, Any], dask_cluster: Any
) -> None:
    """`synthgen generate --executor dask` as a process, one of the two workers killed with
    SIGKILL once shards are coming in: the command completes (exit 0) with the same bytes as the
    local executor's build."""
    from distributed import Client

    with Client(dask_cluster) as client:
        client.wait_for_workers(2, timeout=60)
        victim = sorted(client.run(os.getpid).values())[0]
    out = tmp_path / "worker-killed"
    proc = subprocess.Popen(
        _generate(out, small_spec, dask_cluster.scheduler_address),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    done_dir = out / ".synthgen" / "shards"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if done_dir.exists() and len(list(done_dir.glob("*.json"))) >= 1:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the build ended before a worker could be killed"
    finished_before = len(list(done_dir.glob("*.json")))
    os.kill(victim, signal.SIGKILL)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert finished_before < reference["shards"]
    got = json.loads((out / "manifest.json").read_text())
    assert digests(got) == digests(reference)
    assert got["dataset_sha256"] == reference["dataset_sha256"]
    assert not list(out.rglob("*.tmp-*"))
    with Client(dask_cluster) as client:  # the nanny restarted the worker
        client.wait_for_workers(2, timeout=60)
        assert victim not in client.run(os.getpid).values()


def test_resume_after_the_client_is_killed(
    tmp_path: Path, small_spec: Path, reference: dict[str, Any], dask_cluster: Any
) -> None:
    address = dask_cluster.scheduler_address
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        _generate(out, small_spec, address), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    done_dir = out / ".synthgen" / "shards"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if done_dir.exists() and len(list(done_dir.glob("*.json"))) >= 3:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists()
    finished = len(list(done_dir.glob("*.json")))
    assert 3 <= finished < reference["shards"] == 20
    with_bar = [a for a in _generate(out, small_spec, address) if a != "--quiet"]
    result = subprocess.run(with_bar, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    resumed = re.search(r"resumed (\d+) of 20 message shards", result.stdout)
    assert resumed and finished <= int(resumed[1]) < 20, result.stdout
    # stderr: the cluster's line (the dashboard's link, or how to get one), then the bar's last
    # state, in shards finished across the cluster, resumed ones included
    announced, *_, bar = result.stderr.strip().splitlines()
    assert announced.startswith(
        f"dask: 2 worker processes (one task at a time each) on {address}; "
    )
    assert re.match(r"shards .* 20/20 .*M messages/s", bar), bar
    got = json.loads((out / "manifest.json").read_text())
    assert digests(got) == digests(reference)
    assert got["dataset_sha256"] == reference["dataset_sha256"]


def test_without_dask_the_executor_says_how_to_install_it(tmp_path: Path) -> None:
    # distributed made unimportable in this one process (the package is installed for the suite)
    code = "import sys; sys.modules['distributed'] = None; from synthgen.cli import main; main()"
    args = ["generate", "--band", "dev", "--scale", "0.01", "--out", str(tmp_path / "ds"),
            "--executor", "dask"]  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert result.returncode == 1
    assert "pip install 'synthgen[dask]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "ds").exists()


def test_an_unreachable_scheduler_is_one_line_and_exit_1(tmp_path: Path) -> None:
    from support.scaleout import free_port

    args = _generate(tmp_path / "ds", tmp_path, f"tcp://127.0.0.1:{free_port()}")
    args[args.index("--spec") + 1 : args.index("--spec") + 2] = []
    del args[args.index("--spec")]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("error: --scheduler tcp://127.0.0.1:")
    assert len(result.stderr.strip().splitlines()) == 1
