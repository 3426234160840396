"""Byte-identical output whatever the workers, the shard order, or an interruption."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from support.specs import small_shard_spec
from synthgen.generate.blueprint import make_plan
from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.generate.executors import LocalPool
from synthgen.generate.ids import arrival_offsets
from synthgen.generate.shard import ShardTask, run_shard
from synthgen.spec import load_spec


def _digests(out: Path) -> dict[str, str]:
    manifest = json.loads((out / "manifest.json").read_text())
    return {f["path"]: f["sha256"] for f in manifest["files"]}


def test_one_or_two_workers_and_any_shard_order_give_identical_bytes(tmp_path: Path) -> None:
    spec = load_spec(small_shard_spec(tmp_path))
    one = build_dataset(spec, BuildOptions("dev", 0.02, "order", tmp_path / "one", workers=1))
    build_dataset(spec, BuildOptions("dev", 0.02, "order", tmp_path / "two", workers=2))
    assert one.manifest["shards"] >= 15
    assert _digests(tmp_path / "one") == _digests(tmp_path / "two")
    # shards finished in reverse order by hand, then the build picks them up
    rev = tmp_path / "rev"
    opts = BuildOptions("dev", 0.02, "order", rev, workers=1)
    plan = make_plan(spec, "dev", 0.02, "order")
    build_dataset(spec, opts)  # establishes run.json; then redo shards in reverse
    with LocalPool(1) as pool:  # the id pass counted afresh, not read from the resume state
        offsets = arrival_offsets(spec, "order", plan, pool, tmp_path)
    for shard_slice in reversed(plan.shard_slices):
        ids = offsets.for_shard(shard_slice.shard)
        run_shard(ShardTask(spec, "order", str(rev), "zstd", shard_slice, ids))
    again = build_dataset(spec, opts)
    assert again.shards_resumed == again.manifest["shards"]
    assert again.manifest["dataset_sha256"] == one.manifest["dataset_sha256"]
    # a re-run of a complete dataset resumes everything and changes nothing
    assert _digests(rev) == _digests(tmp_path / "one")


@settings(max_examples=3, deadline=None)
@given(seed=st.text(alphabet="abcdefgh0123", min_size=1, max_size=6))
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path_factory, seed: str) -> None:  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("seed")
    spec = load_spec()
    a = build_dataset(spec, BuildOptions("dev", 0.01, seed, base / "a", workers=1))
    b = build_dataset(spec, BuildOptions("dev", 0.01, seed, base / "b", workers=2))
    c = build_dataset(spec, BuildOptions("dev", 0.01, seed + "x", base / "c", workers=1))
    assert a.manifest["dataset_sha256"] == b.manifest["dataset_sha256"]
    assert a.manifest["dataset_sha256"] != c.manifest["dataset_sha256"]


def _generate_cmd(out: Path, spec: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from synthgen.cli import main; main()",
        "generate",
        "--band",
        "dev",
        "--scale",
        "0.05",
        "--seed",
        "kill",
        "--spec",
        str(spec),
        "--out",
        str(out),
        "--workers",
        "1",
        "--quiet",
        *extra,
    ]


def test_resume_after_sigkill_is_byte_identical(tmp_path: Path) -> None:
    spec = small_shard_spec(tmp_path, shard_messages=5000)
    reference = tmp_path / "reference"
    subprocess.run(_generate_cmd(reference, spec), check=True, capture_output=True)
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        _generate_cmd(out, spec), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    done_dir = out / ".synthgen" / "shards"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if done_dir.exists() and len(list(done_dir.glob("*.json"))) >= 5:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists()
    finished = len(list(done_dir.glob("*.json")))
    total = json.loads((reference / "manifest.json").read_text())["shards"]
    assert 5 <= finished < total
    # corrupt one finished shard: it must be redone, not trusted
    victim = sorted((out / "messages").glob("part-*.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[:-10])
    result = subprocess.run(
        _generate_cmd(out, spec, "--json"), check=True, capture_output=True, text=True
    )
    summary = json.loads(result.stdout)
    assert 0 < summary["shards_resumed"] < finished
    assert _digests(out) == _digests(reference)
    assert not list(out.rglob("*.tmp-*"))
