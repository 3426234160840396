"""The sampler's audit manifest, written beside its output: what ran, where, and how protected.

The DSN is recorded with its host and password masked; each query is recorded by the sha256 of
its text (the text itself holds production's table names), with the rows it scanned.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from synthgen import files
from synthgen.sample.session import Executed

AUDIT_FORMAT = "synthgen-sample-audit"


def audit_path_for(out: Path) -> Path:
    """Where the audit manifest of an output goes: beside it, `<name>.audit.json`."""
    stem = out.name[: -len(".json")] if out.name.endswith(".json") else out.name
    return out.with_name(f"{stem}.audit.json")


def query_entries(executed: list[Executed]) -> list[dict[str, Any]]:
    """One audit entry per statement: name, text hash, rows scanned, seconds."""
    return [
        {
            "name": e.name,
            "sql_sha256": hashlib.sha256(e.sql.encode()).hexdigest(),
            "rows_scanned": e.rows_scanned,
            "seconds": round(e.seconds, 3),
        }
        for e in executed
    ]


def write_json_atomic(path: Path, payload: dict[str, Any]) -> str:
    """Write JSON through a temporary name and rename; return the file's sha256."""
    text = files.write_json_atomic(path, payload, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
