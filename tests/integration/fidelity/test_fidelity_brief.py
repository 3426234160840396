"""The product brief's figures appear in every form of the report beside the spec model's figure
and the measured one, with a note where the model departs from the brief; they are never judged."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from synthgen.fidelity.brief import BRIEF_FIGURES

# what the default spec's model gives for each figure (closed forms of its stated parameters)
MODEL = {
    "messages per conversation, median": 13,  # truncated power law α 1.8 on [6, 9999]
    "messages per conversation, p95": 220,
    "messages per conversation, p99": 1326,
    "content length, mean": 179.3,  # log-normal μ 4.5, σ 1.2, rounded and capped at 2000
    "content length, median": 90,  # e^4.5
    "peak / trough hourly rate": 2.5,
    "weekday / weekend rate": 1.4,
}
DEPARTING = {
    "messages per conversation, median",
    "messages per conversation, p95",
    "messages per conversation, p99",
    "content length, mean",
    "read receipts per message",  # one per reader in rooms of <= 20 members, big rooms a cursor
}


def test_brief_figures_in_json_text_and_html(kit: Any, fid_copy: Path, tmp_path: Path) -> None:
    page = tmp_path / "fidelity.html"
    result = kit.run_validate(str(fid_copy), "--html", str(page))
    assert result.exit_code == 0, result.output
    report = kit.report_of(fid_copy)
    rows = {r["figure"]: r for r in report["brief_figures"]}
    assert [r["figure"] for r in report["brief_figures"]] == [f.label for f in BRIEF_FIGURES]
    assert {label: r["brief"] for label, r in rows.items()} == {
        "messages per conversation, median": 15,
        "messages per conversation, p95": 500,
        "messages per conversation, p99": 5000,
        "content length, mean": 150,
        "content length, median": 90,
        "peak / trough hourly rate": 2.5,
        "weekday / weekend rate": 1.4,
        "burst coefficient (gap CV)": 2.5,
        "read rate": 0.82,
        "read receipts per message": 0.82,  # 4.1M receipts for 5M messages
    }
    for label, model in MODEL.items():
        assert rows[label]["model"] == pytest.approx(model, rel=0.01), label
    # the burst figure is the gate's own model of busy rooms under the diurnal profile
    assert 2.3 < rows["burst coefficient (gap CV)"]["model"] < 2.9
    # the read rate per eligible (message, member) pair, less receipts past the snapshot
    assert 0.78 < rows["read rate"]["model"] < 0.82
    # the default spec's receipts: per reading member, rooms above 20 members keep only a cursor
    assert 0.05 < rows["read receipts per message"]["model"] < 0.4
    assert "rooms of at most 20 members" in rows["read receipts per message"]["note"]
    # the measured figure is the one the gate's check measured
    for fig in BRIEF_FIGURES:
        metric = kit.metric(report, fig.check, fig.metric)
        assert rows[fig.label]["measured"] == metric["measured"]
        assert rows[fig.label]["model"] == metric["expected"]
        assert math.isfinite(rows[fig.label]["measured"])
    assert {label for label, r in rows.items() if r["note"]} == DEPARTING
    assert "α ≈ 1.63" in rows["messages per conversation, p95"]["note"]
    assert "σ ≈ 1.01" in rows["content length, mean"]["note"]
    # information only: the brief's figures are not among the decision's reasons
    assert report["decision"]["verdict"] == "GO"
    text = result.stdout
    assert "brief figure" in text and "spec model" in text
    for fig in BRIEF_FIGURES:
        assert fig.label in text
    assert "content length, mean: log-normal μ 4.5" in text
    html = page.read_text()
    assert "The product brief&#x27;s figures" in html or "The product brief's figures" in html
    assert "why the model departs" in html
    for fig in BRIEF_FIGURES:
        assert fig.label in html
