"""The result files one command writes and another reads back: query baselines (`verify
baseline`), index-gate comparisons (`verify compare --json`, a run's compare.json) and fidelity
reports (`validate`'s fidelity-report.json). Each is checked against its JSON Schema when read,
so a malformed file is refused in one line naming the file and the field, instead of failing
later with a KeyError in the code that uses it.

The schemas state what the readers use (the files hold more, which is allowed): a reader may
index every required field without a check of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema

from synthgen.errors import SynthgenError
from synthgen.files import read_json
from synthgen.jsonmodel import dotted
from synthgen.verdict import DECISIONS


class ResultFileError(SynthgenError):
    """A result file is missing, not JSON, or not of its kind's shape."""


_NUMBER = {"type": "number"}
_TIMING = {"type": "object", "required": ["p50"], "properties": {"p50": _NUMBER}}
_STRINGS = {"type": "array", "items": {"type": "string"}}

BASELINE: dict[str, Any] = {
    "type": "object",
    "required": ["results"],
    "properties": {
        "label": {"type": "string"},
        "schema": {"type": "string"},
        "parameters": {"type": "object"},
        "queries": {"type": "object", "additionalProperties": {"type": "string"}},
        "indexes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "table"],
                "properties": {"name": {"type": "string"}, "table": {"type": "string"}},
            },
        },
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["query", "name", "class", "client_ms", "explain_ms", "plan"],
                "properties": {
                    "query": {"type": "string"},
                    "name": {"type": "string"},
                    "class": {"type": "string"},
                    "plan_mode": {"type": "string"},
                    "client_ms": _TIMING,
                    "explain_ms": _TIMING,
                    "plan": {
                        "type": "object",
                        "required": ["sort_count", "large_seq_scans"],
                        "properties": {
                            "sort_count": {"type": "integer", "minimum": 0},
                            "large_seq_scans": _STRINGS,
                        },
                    },
                },
            },
        },
    },
}

# what `verify plans` reads of a baseline: each result's identity and its EXPLAIN plan
PLANS: dict[str, Any] = {
    "type": "object",
    "required": ["results"],
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["query", "name", "class", "explain"],
                "properties": {
                    "query": {"type": "string"},
                    "name": {"type": "string"},
                    "class": {"type": "string"},
                    "plan_mode": {"type": "string"},
                    "explain": {"type": "array"},
                },
            },
        },
    },
}

COMPARISON: dict[str, Any] = {
    "type": "object",
    "required": ["decision", "reasons", "mitigations", "average_improvement"],
    "properties": {
        "decision": {"enum": list(DECISIONS)},
        "reasons": _STRINGS,
        "mitigations": _STRINGS,
        "average_improvement": _NUMBER,
        "warnings": _STRINGS,
    },
}

FIDELITY_REPORT: dict[str, Any] = {
    "type": "object",
    "required": ["decision", "checks"],
    "properties": {
        "decision": {
            "type": "object",
            "required": ["verdict", "reasons"],
            "properties": {"verdict": {"enum": list(DECISIONS)}, "reasons": _STRINGS},
        },
        "checks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "status"],
                "properties": {
                    "name": {"type": "string"},
                    "status": {"enum": ["PASS", "WARN", "FAIL", "SKIP"]},
                    "charts": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
    },
}

KINDS = {
    "baseline": BASELINE,
    "baseline (plans)": PLANS,
    "comparison": COMPARISON,
    "fidelity report": FIDELITY_REPORT,
}


def read_result(path: Path | str, kind: str, what: str | None = None) -> dict[str, Any]:
    """Read a result file of `kind` (a key of KINDS) and check it against its schema.

    `what` names the file in messages (a flag or an argument, e.g. "PRE"); every failure is a
    ResultFileError of one line: `<what> <path>: <field>: <problem>`."""
    label = f"{what} {path}" if what else str(path)
    loaded = read_json(path, label, ResultFileError)
    check_result(loaded, kind, label)
    result: dict[str, Any] = loaded
    return result


def check_result(doc: Any, kind: str, label: str) -> None:
    """Raise ResultFileError naming the first field of `doc` that breaks `kind`'s schema."""
    schema = KINDS[kind]
    if not isinstance(doc, dict):
        raise ResultFileError(f"{label}: not a synthgen {kind}: the top level is not an object")
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(doc),
        key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path]),
    )
    if errors:
        error = errors[0]
        path = list(error.absolute_path)
        if error.validator == "required":
            missing = next(f for f in error.validator_value if f not in error.instance)
            path.append(missing)
            problem = "missing"
        else:
            problem = error.message
        raise ResultFileError(f"{label}: not a synthgen {kind}: field {dotted(path)}: {problem}")


def read_baseline_parameters(path: Path | str, what: str) -> dict[str, Any]:
    """The drawn parameters of a baseline (`--params-from`): a baseline that records them."""
    doc = read_result(path, "baseline", what)
    parameters = doc.get("parameters")
    if not isinstance(parameters, dict):
        raise ResultFileError(f"{what} {path}: not a synthgen baseline: field parameters: missing")
    return parameters
