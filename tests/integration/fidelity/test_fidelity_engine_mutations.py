"""Mutation tests that break the *engine*, not the dataset: one engine function is replaced (in
this process, with pytest's monkeypatch), a small dataset is built by the real generator, and
the gate must say NO-GO with exactly the check that owns the broken property failing. Because
the gate derives its expectations from the spec with its own code, a broken engine cannot drag
the expectation along with it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from synthgen.engine import distributions, messages, skeleton, timemodel
from synthgen.generate import shard
from synthgen.spec import DEFAULT_SPEC_PATH, Spec

SCALE = 0.05  # dev x 0.05: 400 conversations (280 / 100 / 20), 8 heavy rooms, 250 000 messages


def _build_and_validate(kit: Any, out: Path, failing: set[str]) -> dict[str, Any]:
    """Build with the (patched) engine, validate; NO-GO, exit 3, exactly `failing` FAIL."""
    kit.build(out, seed="engine-mutation", scale=SCALE)
    result = kit.run_validate(str(out), "--quiet")
    assert result.exit_code == 3, result.output
    report = kit.report_of(out)
    assert report["decision"]["verdict"] == "NO-GO"
    got = kit.statuses(report)
    assert {name for name, status in got.items() if status == "FAIL"} == failing, got
    for name in failing:
        assert any(name in reason for reason in report["decision"]["reasons"])
    return report


def test_the_unbroken_engine_is_go(kit: Any, tmp_path: Path) -> None:
    """The control: the same build without a patch passes (so a failure below is the patch's)."""
    out = kit.build(tmp_path / "ds", seed="engine-mutation", scale=SCALE)
    result = kit.run_validate(str(out), "--quiet")
    assert result.exit_code == 0, result.output
    assert kit.statuses(kit.report_of(out))["temporal"] == "PASS"


def test_engine_without_bursts(kit: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # every message opens its own burst: a Poisson stream over the intensity
    monkeypatch.setattr(timemodel, "burst_start_probability", lambda cv: 1.0)
    report = _build_and_validate(kit, tmp_path / "ds", {"temporal"})
    burst = kit.metric(report, "temporal", "burst")
    assert burst["status"] == "FAIL"
    assert burst["expected"] > 2.0  # the spec's cv 2.5, as the gate's own model realises it
    assert burst["measured"] < 1.5
    assert kit.metric(report, "temporal", "peak / trough")["status"] == "PASS"


def test_engine_with_a_flat_day(kit: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timemodel, "hourly_profile", lambda diurnal: np.ones(24))
    report = _build_and_validate(kit, tmp_path / "ds", {"temporal"})
    ratio = kit.metric(report, "temporal", "peak / trough")
    assert ratio["status"] == "FAIL"
    assert ratio["expected"] == pytest.approx(2.5, rel=0.05)
    assert 0.8 < ratio["measured"] < 1.2
    assert kit.metric(report, "temporal", "weekday / weekend")["status"] == "PASS"


@pytest.mark.parametrize("delta", [-4, -1, +1])
def test_engine_with_the_heavy_count_moved(
    kit: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delta: int
) -> None:
    """One heavy room more or fewer than max(1, round(400 x 0.02)) = 8 is NO-GO: the count is
    exact, as the class counts are (it was judged at +/-15 % and 7 or 9 passed)."""
    real: Callable[[Spec, str, float], skeleton.Counts] = skeleton.counts_for

    def moved(spec: Spec, band: str, scale: float) -> skeleton.Counts:
        counts = real(spec, band, scale)
        return skeleton.Counts(**{**counts.__dict__, "heavy": counts.heavy + delta})

    monkeypatch.setattr(skeleton, "counts_for", moved)
    monkeypatch.setattr("synthgen.generate.blueprint.counts_for", moved)
    report = _build_and_validate(kit, tmp_path / "ds", {"heavy_rooms"})
    count = kit.metric(report, "heavy_rooms", "heavy-room count")
    assert (count["expected"], count["measured"], count["status"]) == (8, 8 + delta, "FAIL")
    # the generator's labels agree with the message counts: only the count is wrong
    assert kit.metric(report, "heavy_rooms", "label disagrees")["status"] == "PASS"


@pytest.mark.parametrize(
    ("shift", "off"),
    [
        ((+1, -1, 0), ("DIRECT", "small group")),
        ((0, +1, -1), ("small group", "large group")),
        ((-1, 0, +1), ("DIRECT", "large group")),
    ],
)
def test_engine_with_class_counts_off_by_one(
    kit: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    shift: tuple[int, int, int],
    off: tuple[str, str],
) -> None:
    real = distributions.class_counts

    def shifted(total: int, shares: list[float]) -> list[int]:
        return [n + d for n, d in zip(real(total, shares), shift, strict=True)]

    monkeypatch.setattr(distributions, "class_counts", shifted)
    report = _build_and_validate(kit, tmp_path / "ds", {"conversation_mix"})
    for label in ("DIRECT", "small group", "large group"):
        metric = kit.metric(report, "conversation_mix", f"{label} conversations")
        assert metric["status"] == ("FAIL" if label in off else "PASS"), metric
        if label in off:
            assert abs(metric["measured"] - metric["expected"]) == 1
    assert kit.metric(report, "conversation_mix", "conversations (band")["status"] == "PASS"


@pytest.mark.parametrize("per", ["member", "message"])
def test_engine_reading_half_as_often(
    kit: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, per: str
) -> None:
    """Under either receipt model, the unbroken engine is GO against its spec, and an engine that
    draws reads at half the spec's read rate is NO-GO on the read rate alone (lastReadAt follows
    the reads it drew, so the integrity checks still pass)."""
    raw = json.loads(DEFAULT_SPEC_PATH.read_text())
    raw["read_receipts"]["per"] = per
    if per == "message":
        raw["read_receipts"].pop("per_member_max_members", None)
    spec_path = tmp_path / f"{per}.json"
    spec_path.write_text(json.dumps(raw))

    good = kit.build(tmp_path / "good", seed="engine-mutation", scale=SCALE, spec_path=spec_path)
    result = kit.run_validate(str(good), "--spec", str(spec_path), "--quiet")
    assert result.exit_code == 0, result.output
    rate = kit.metric(kit.report_of(good), "read_receipts", "read rate")
    assert rate["status"] == "PASS" and rate["expected"] > 0.78

    real = messages.generate_message_shard

    def half_as_often(spec: Spec, *args: Any) -> Any:
        slow = replace(spec.read_receipts, read_rate=spec.read_receipts.read_rate / 2)
        return real(replace(spec, read_receipts=slow), *args)

    monkeypatch.setattr(messages, "generate_message_shard", half_as_often)
    monkeypatch.setattr(shard, "generate_message_shard", half_as_often)  # its caller's name
    out = kit.build(tmp_path / "ds", seed="engine-mutation", scale=SCALE, spec_path=spec_path)
    result = kit.run_validate(str(out), "--spec", str(spec_path), "--quiet")
    assert result.exit_code == 3, result.output
    report = kit.report_of(out)
    got = kit.statuses(report)
    assert {name for name, status in got.items() if status == "FAIL"} == {"read_receipts"}, got
    rate = kit.metric(report, "read_receipts", "read rate")
    assert rate["status"] == "FAIL"
    assert rate["measured"] == pytest.approx(rate["expected"] / 2, rel=0.05)
