"""Production's numbers in a query file, and the `-- todo:` lines that keep a file out of runs.

`synthgen sample statements` writes a `-- production:` line into each captured query file
(calls, mean_ms, total_ms, rows_per_call, share_calls, share_time as production measured them)
and a `-- todo:` line for each parameter it could not infer. Hand-written files have neither.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_PRODUCTION = re.compile(r"^--\s*production\s*:\s*(.+)$")
_TODO = re.compile(r"^--\s*todo\s*:\s*(.+)$")
_PAIR = re.compile(r"(\w+)=([0-9.eE+-]+)")


def _header(path: Path) -> list[str]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    return [ln.strip() for ln in lines if ln.strip().startswith("--")]


def todo_lines(path: Path) -> list[str]:
    """The `-- todo:` lines of a query file (empty: it may run)."""
    return [m.group(1).strip() for ln in _header(path) if (m := _TODO.match(ln))]


def production_numbers(path: Path) -> dict[str, float] | None:
    """{calls, mean_ms, total_ms, rows_per_call, share_calls, share_time}, or None."""
    for line in _header(path):
        match = _PRODUCTION.match(line)
        if match:
            return {k: float(v) for k, v in _PAIR.findall(match.group(1))}
    return None


def production_weights(paths: dict[str, str]) -> dict[str, dict[str, float]]:
    """query key -> production's numbers, for the queries that carry them."""
    out: dict[str, dict[str, float]] = {}
    for key, path in paths.items():
        numbers = production_numbers(Path(path))
        if numbers is not None:
            out[key] = numbers
    return out


def time_shares(production: dict[str, dict[str, Any]], keys: list[str]) -> dict[str, float]:
    """Each query's share of production's total time among `keys` (empty when any lacks it)."""
    totals = {k: float(production.get(k, {}).get("total_ms", -1.0)) for k in keys}
    if not totals or min(totals.values()) < 0 or sum(totals.values()) <= 0:
        return {}
    whole = sum(totals.values())
    return {k: v / whole for k, v in totals.items()}
