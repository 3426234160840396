"""The tiny-dataset builder the check tests share writes what the gate expects: the whole gate
opens it, and its basic world breaks no integrity rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.fidelity.checks import INTEGRITY
from synthgen.fidelity.runner import validate_dataset


def test_the_basic_world_passes_every_integrity_check(tiny: Any, tmp_path: Path) -> None:
    ds = tiny.basic().write(tmp_path / "ds")
    report = validate_dataset(ds.root, ds.spec, 0.15, threads=1)
    assert report.dataset.band == "tiny"
    assert report.dataset.manifest["counts"]["messages"] == 12
    integrity = {r.name: r.status for r in report.results if r.kind == INTEGRITY}
    assert integrity == dict.fromkeys(
        ("pii", "timestamps", "referential_integrity", "physical_layout"), tiny.Status.PASS
    )
    # band totals are the world's own: the exact totals of the mix check hold
    mix = {r.name: r for r in report.results}["conversation_mix"].outcome
    assert tiny.metric(mix, "users (band total)").measured == 4
    assert tiny.metric(mix, "conversations (band total)").status is tiny.Status.PASS
