"""Result files read back by a command are checked against their schema: a malformed one is
refused in one line naming the file and the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from synthgen.resultfiles import ResultFileError, read_baseline_parameters, read_result

BASELINE = {
    "label": "pre",
    "parameters": {"conversation": {}},
    "results": [
        {
            "query": "q1",
            "name": "Q1 latest messages",
            "class": "median",
            "plan_mode": "custom",
            "client_ms": {"p50": 1.5},
            "explain_ms": {"p50": 1.0},
            "plan": {"sort_count": 1, "large_seq_scans": []},
        }
    ],
}
COMPARISON = {"decision": "GO", "reasons": [], "mitigations": [], "average_improvement": 0.55}
FIDELITY = {
    "decision": {"verdict": "GO", "reasons": []},
    "checks": [{"name": "media", "status": "PASS", "charts": []}],
}


def _write(tmp_path: Path, doc: Any, name: str = "doc.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    ("kind", "doc"),
    [("baseline", BASELINE), ("comparison", COMPARISON), ("fidelity report", FIDELITY)],
)
def test_a_well_formed_file_is_read(tmp_path: Path, kind: str, doc: dict[str, Any]) -> None:
    assert read_result(_write(tmp_path, doc), kind) == doc


def _without(doc: dict[str, Any], *path: Any) -> dict[str, Any]:
    broken = copy.deepcopy(doc)
    node = broken
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return broken


def _with(doc: dict[str, Any], value: Any, *path: Any) -> dict[str, Any]:
    broken = copy.deepcopy(doc)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return broken


@pytest.mark.parametrize(
    ("kind", "doc", "message"),
    [
        ("baseline", _without(BASELINE, "results"), "field results: missing"),
        (
            "baseline",
            _without(BASELINE, "results", 0, "client_ms", "p50"),
            "field results.0.client_ms.p50: missing",
        ),
        (
            "baseline",
            _with(BASELINE, "1", "results", 0, "plan", "sort_count"),
            "field results.0.plan.sort_count: '1' is not of type 'integer'",
        ),
        ("comparison", _without(COMPARISON, "decision"), "field decision: missing"),
        (
            "comparison",
            _with(COMPARISON, "MAYBE", "decision"),
            "field decision: 'MAYBE' is not one of ['GO', 'NO-GO']",
        ),
        (
            "fidelity report",
            _without(FIDELITY, "checks", 0, "status"),
            "field checks.0.status: missing",
        ),
        ("fidelity report", [], "the top level is not an object"),
    ],
)
def test_a_malformed_file_is_refused_naming_the_file_and_the_field(
    tmp_path: Path, kind: str, doc: Any, message: str
) -> None:
    path = _write(tmp_path, doc, "bad.json")
    with pytest.raises(ResultFileError) as caught:
        read_result(path, kind, "PRE")
    text = str(caught.value)
    assert text.startswith(f"PRE {path}: ")
    assert text.endswith(message), text
    assert "\n" not in text


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ResultFileError, match=r"nowhere\.json: not found$"):
        read_result(tmp_path / "nowhere.json", "baseline")
    bad = tmp_path / "bad.json"
    bad.write_text('{"results": [')
    with pytest.raises(ResultFileError, match=r"bad\.json: not valid JSON \(line 1\)$"):
        read_result(bad, "baseline")


def test_params_from_needs_the_drawn_parameters(tmp_path: Path) -> None:
    good = _write(tmp_path, BASELINE, "good.json")
    assert read_baseline_parameters(good, "--params-from") == {"conversation": {}}
    none = _write(tmp_path, _without(BASELINE, "parameters"), "none.json")
    with pytest.raises(ResultFileError, match=r"field parameters: missing$"):
        read_baseline_parameters(none, "--params-from")
