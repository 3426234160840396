"""Captured statements in a workload: production's calls as the mix, captured writes as scripts.

`synthgen sample statements` writes reads into a query directory and writes (INSERT / UPDATE /
DELETE) into its `writes/` folder, each with production's calls on a `-- production:` line. The
workload replays production's mix: each script's pgbench weight is its captured calls (scaled
down proportionally when they sum beyond pgbench's range), so pgbench draws a script with
probability calls / all captured calls.
"""

from __future__ import annotations

from pathlib import Path

from synthgen.errors import LoadTestError
from synthgen.verify.production import production_numbers, todo_lines
from synthgen.verify.queries import Query, load_queries

WRITES_DIR = "writes"
MAX_TOTAL_WEIGHT = 1_000_000  # pgbench weights are ints; keep their sum far from INT_MAX


def captured_writes(queries_dir: Path | None) -> dict[str, Query]:
    """W3, W4, ...: the runnable captured writes of a query directory (none for hand-written)."""
    folder = queries_dir / WRITES_DIR if queries_dir is not None else None
    if folder is None or not any(not todo_lines(f) for f in folder.glob("*.sql")):
        return {}
    return {q.key.upper(): q for q in load_queries(folder)}


def production_mix(queries_dir: Path | None) -> dict[str, int] | None:
    """Script -> weight from production's captured calls, or None when a file lacks them."""
    if queries_dir is None:
        return None
    scripts = {q.key.upper(): q for q in load_queries(queries_dir)}
    scripts.update(captured_writes(queries_dir))
    calls: dict[str, float] = {}
    for key, query in scripts.items():
        numbers = production_numbers(Path(query.path))
        if numbers is None or "calls" not in numbers:
            return None
        calls[key] = numbers["calls"]
    total = sum(calls.values())
    if total <= 0:
        return None
    scale = min(1.0, MAX_TOTAL_WEIGHT / total)
    return {k: max(1, round(v * scale)) for k, v in calls.items()}


def wants_production(text: str | None) -> bool:
    """No --mix, or --mix production: production's calls decide (when the files carry them)."""
    return text is None or text.strip().lower() == "production"


def required_production_mix(text: str | None, queries_dir: Path | None) -> dict[str, int] | None:
    """Production's mix; with an explicit `--mix production`, an error when there is none."""
    mix = production_mix(queries_dir)
    if mix is None and text is not None:
        where = queries_dir if queries_dir is not None else "the default queries"
        raise LoadTestError(
            f"--mix production: the query files of {where} carry no production calls "
            "(capture them with synthgen sample statements)"
        )
    return mix
