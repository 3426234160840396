"""Plan shapes and `synthgen verify plans` / `verify compare` through the installed command."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from synthgen.verify.plan_shapes import compare_plan_docs, plan_shape, shape_differences

PLANS = Path(__file__).parent / "plans"
SYNTHGEN = Path(sys.executable).parent / "synthgen"


def plan(name: str) -> Any:
    return json.loads((PLANS / f"{name}.json").read_text())


def test_shape_reads_join_order_scans_sorts_and_parallelism() -> None:
    nested = plan_shape(plan("nested_loop"))
    assert nested.join_order == ["conv", "msg"]
    assert nested.joins == ["Nested Loop"]
    assert nested.sorts == 1 and nested.parallel_workers == 0
    assert nested.rows["Bitmap Heap Scan on msg"] == 3000.0  # 600 per loop x 5 loops
    parallel = plan_shape(plan("parallel"))
    assert parallel.parallel_workers == 2
    assert parallel.signature == "Aggregate(Gather x2(Aggregate(Seq Scan on msg)))"


def test_shape_differences_name_what_changed_with_rows() -> None:
    before, after = plan_shape(plan("bitmap")), plan_shape(plan("parallel"))
    changes = shape_differences(before, after)
    assert changes == [
        "scans [Bitmap Heap Scan on msg: 1,800 rows; Bitmap Index Scan using msg_conv: 1,800 "
        "rows] -> [Seq Scan on msg: 213,600 rows]",
        "parallel workers 0 -> 2",
    ]
    assert shape_differences(before, plan_shape(plan("bitmap"))) == []


def _doc(plans: dict[tuple[str, str], str]) -> dict[str, Any]:
    return {
        "label": "x",
        "results": [
            {"query": q, "name": q.upper(), "class": c, "plan_mode": "custom", "explain": plan(p)}
            for (q, c), p in plans.items()
        ],
    }


def test_compare_plan_docs_pairs_by_query_class_and_mode() -> None:
    dev = _doc({("q1", "heavy"): "sort_topn", ("q4", "top1"): "bitmap"})
    staging = _doc({("q1", "heavy"): "sort_topn", ("q4", "top1"): "parallel"})
    changes, compared = compare_plan_docs(dev, staging)
    assert compared == 2
    assert [(c.query, c.param_class) for c in changes] == [("q4", "top1")]
    assert changes[0].rows == [1.0, 1.0]
    assert "parallel workers 0 -> 2" in changes[0].differences


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=120)


def test_verify_plans_exit_codes_from_the_installed_command(tmp_path: Path) -> None:
    assert SYNTHGEN.exists(), "the synthgen console script is not installed in this venv"
    dev = _doc({("q1", "heavy"): "sort_topn", ("q4", "top1"): "bitmap"})
    same, other = tmp_path / "dev.json", tmp_path / "same.json"
    same.write_text(json.dumps(dev))
    other.write_text(json.dumps(copy.deepcopy(dev)))
    ok = _run("verify", "plans", str(same), str(other))
    assert ok.returncode == 0, ok.stderr
    assert "plans: same shapes in every pair" in ok.stdout
    staging = tmp_path / "staging.json"
    staging.write_text(json.dumps(_doc({("q1", "heavy"): "sort_topn", ("q4", "top1"): "parallel"})))
    changed = _run("verify", "plans", str(same), str(staging), "--json", str(tmp_path / "p.json"))
    assert changed.returncode == 3, changed.stderr
    assert "Q4 (top1, custom plan): scans" in changed.stdout
    assert json.loads((tmp_path / "p.json").read_text())["compared"] == 2
    missing = _run("verify", "plans", str(same), str(tmp_path / "nope.json"))
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"error: B {tmp_path / 'nope.json'}: not found"
    # a baseline without a result's plan: one line naming the file and the field, no traceback
    broken = copy.deepcopy(dev)
    del broken["results"][1]["explain"]
    bad = tmp_path / "broken.json"
    bad.write_text(json.dumps(broken))
    refused = _run("verify", "plans", str(same), str(bad))
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"error: B {bad}: not a synthgen baseline (plans): field results.1.explain: missing"
    )


@pytest.mark.parametrize(
    ("post_medians", "code", "decision"),
    [((0.2, 1.0), 0, "GO"), ((20.0, 5.0), 3, "NO-GO")],
)
def test_verify_compare_exit_codes_from_the_installed_command(
    tmp_path: Path, post_medians: tuple[float, float], code: int, decision: str
) -> None:
    from support.baselines import PRE, baseline, result, runs

    post = baseline(
        [
            result("q1", "heavy", runs(post_medians[0], seed=2), 0, ["idx"]),
            result("q1", "median", runs(3.0, seed=3), 0, ["idx"]),
            result("q3", "top1", runs(post_medians[1], seed=4), 0, ["idx"]),
        ]
    )
    pre_path, post_path = tmp_path / "pre.json", tmp_path / "post.json"
    pre_path.write_text(json.dumps(PRE))
    post_path.write_text(json.dumps(post))
    proc = _run("verify", "compare", str(pre_path), str(post_path))
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert f"decision: {decision}" in proc.stdout
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    bad = _run("verify", "compare", str(pre_path), str(broken))
    assert bad.returncode == 1
    assert "POST" in bad.stderr and "not valid JSON" in bad.stderr


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d.pop("results"), "results: missing"),
        (lambda d: d["results"][0]["client_ms"].pop("p50"), "results.0.client_ms.p50: missing"),
        (lambda d: d["results"][2].pop("plan"), "results.2.plan: missing"),
        (
            lambda d: d["results"][0]["plan"].update(sort_count="many"),
            "results.0.plan.sort_count: 'many' is not of type 'integer'",
        ),
    ],
)
def test_verify_compare_refuses_a_malformed_baseline_in_one_line(
    tmp_path: Path, edit: Any, field: str
) -> None:
    """A baseline missing what the comparison reads: exit 1, one line naming the file and the
    field (it was a KeyError)."""
    from support.baselines import PRE

    pre_path, post_path = tmp_path / "pre.json", tmp_path / "post.json"
    pre_path.write_text(json.dumps(PRE))
    broken = copy.deepcopy(PRE)
    edit(broken)
    post_path.write_text(json.dumps(broken))
    proc = _run("verify", "compare", str(pre_path), str(post_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: POST {post_path}: not a synthgen baseline: field {field}"
    ]
