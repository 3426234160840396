"""`synthgen run` as a list of stages: which stages each option adds, in what order, and that a
rerun refuses to run a stage whose input an earlier stage wrote and someone removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.errors import SynthgenError
from synthgen.loadtest.stage import LoadTestStage
from synthgen.rehearse.stage import RehearseStage
from synthgen.spec import load_spec
from synthgen.workflow import LOADTEST_STAGES, STAGES, RunOptions, Stage, stages_for
from synthgen.workflow.stages import RunContext
from synthgen.workflow.state import RunState


def _opts(tmp_path: Path, **options: object) -> RunOptions:
    return RunOptions("dev", 0.1, "s", tmp_path, "postgresql://x@127.0.0.1/db", **options)  # type: ignore[arg-type]


def test_a_plain_run_and_a_load_test_run_walk_these_stages() -> None:
    assert STAGES == (
        "generate", "validate", "load", "baseline_pre", "indexes", "baseline_post", "compare",
        "report",
    )  # fmt: skip
    assert LOADTEST_STAGES == (
        "generate", "validate", "load", "workload", "loadtest_pre", "baseline_pre", "indexes",
        "baseline_post", "loadtest_post", "compare", "loadtest_compare", "report",
    )  # fmt: skip


def test_each_option_adds_its_stage_in_place(tmp_path: Path) -> None:
    names = [
        s.name
        for s in stages_for(
            _opts(
                tmp_path, migrations="m.sql", suggest=True, extend_days=3, rehearse=RehearseStage()
            )
        )
    ]
    assert names == [
        "generate", "validate", "migrate", "load", "workload", "suggest", "soak", "compare",
        "report",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "options",
    [{}, {"loadtest": LoadTestStage()}, {"suggest": True, "extend_days": 2}, {"extend_days": 1}],
)
def test_every_input_is_an_earlier_stages_output(tmp_path: Path, options: dict) -> None:
    made: set[str] = set()
    for stage in stages_for(_opts(tmp_path, **options)):
        assert set(stage.inputs) <= made, f"{stage.name} reads {set(stage.inputs) - made}"
        made |= set(stage.outputs)


def test_a_removed_input_is_one_line_naming_it(tmp_path: Path) -> None:
    from synthgen.workflow import _walk

    opts = _opts(tmp_path)
    ctx = RunContext(load_spec(None), opts, print, None, RunState(tmp_path, {}, False), [], None)
    ran: list[str] = []
    stage = Stage("compare", lambda c: ran.append("x") or {}, ("baseline-pre.json",))
    with pytest.raises(SynthgenError, match=r"compare needs baseline-pre.json, which is gone"):
        _walk(stage, ctx)
    assert ran == []
    (tmp_path / "baseline-pre.json").write_text("{}")
    _walk(stage, ctx)
    assert ran == ["x"] and "compare" in ctx.state.done
    _walk(stage, ctx)  # done earlier: skipped
    assert ran == ["x"]
