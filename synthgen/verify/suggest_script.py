"""The phase-2 script and its rollback, written from `indexes suggest` (planner estimates) and,
once proven, from `indexes prove` (the kept set, with its measured figures). Same form as the
shipped specs/indexes/phase-2.sql: one comment block per index, then CREATE INDEX CONCURRENTLY IF
NOT EXISTS; table names unqualified (`indexes apply` sets search_path)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from synthgen.files import write_text_atomic
from synthgen.schema import quote_ident


def _by_query(estimates: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for e in estimates:
        out.setdefault(e["name"], []).append(e)
    return out


def estimate_text(e: dict[str, Any]) -> str:
    """'heavy cost 2051 -> 4.3 (-100 %, sort removed)'."""
    sort = ", sort removed" if e["sort_removed"] else ""
    return (
        f"{e['class']} cost {e['cost_before']:g} -> {e['cost_after']:g} "
        f"({-e['estimated_gain']:+.0%}{sort})"
    )


def index_comment(index: dict[str, Any]) -> list[str]:
    """The comment lines of one suggested index: the queries and classes it serves, the
    planner's estimate per class and its estimated size."""
    served = _by_query(index["serves"])
    lines = [index["name"]]
    if served:
        lines.append(
            "serves: "
            + "; ".join(f"{q} ({', '.join(e['class'] for e in es)})" for q, es in served.items())
        )
    for query, estimates in served.items():
        lines.append(f"estimated gain, {query}: " + "; ".join(map(estimate_text, estimates)))
    if index["estimated_size_bytes"] is not None:
        lines.append(f"estimated size (HypoPG): {index['estimated_size_bytes'] / 1e6:.1f} MB")
    return lines


def render_script(doc: dict[str, Any], head: list[str], extra: dict[str, list[str]]) -> str:
    """The phase-2 script of `doc['indexes']`; `extra` adds comment lines per index name."""
    lines = [f"-- {h}" if h else "--" for h in head]
    for served in doc.get("served_by_existing", []):
        lines.append(
            f"-- {served['name']} ({served['table']}): served by the existing index "
            f"{served['index']} (wanted {served['wanted']}); nothing to add"
        )
    for index in doc["indexes"]:
        comment = index_comment(index) + extra.get(index["name"], [])
        lines += ["", *(f"-- {c}" for c in comment), index["sql"].rstrip(";") + ";"]
    if not doc["indexes"]:
        lines += ["", "-- no index to build"]
    return "\n".join(lines) + "\n"


def render_rollback(names: list[str], script: str) -> str:
    """DROP INDEX CONCURRENTLY IF EXISTS for every index of a script."""
    lines = [
        f"-- Roll back the indexes of {script}. DROP INDEX CONCURRENTLY does not block reads or",
        "-- writes; IF EXISTS makes the rollback safe to repeat.",
    ]
    lines += [f"DROP INDEX CONCURRENTLY IF EXISTS {quote_ident(n)};" for n in names]
    return "\n".join(lines) + "\n"


def suggest_head(schema: str, threshold: float) -> list[str]:
    return [
        f"Phase-2 indexes suggested by `synthgen indexes suggest` for schema {schema}.",
        "Planner estimates with hypothetical indexes (HypoPG), nothing built or measured: a",
        "candidate is kept when its plan uses it and removes a sort or cuts the estimated cost by",
        f"{threshold:.0%}. `synthgen indexes prove` builds and measures them.",
        "Built with CREATE INDEX CONCURRENTLY (writes go on); table names unqualified.",
    ]


def rollback_path(out: Path) -> Path:
    """phase-2.sql -> phase-2-rollback.sql (the shipped scripts' naming)."""
    return out.with_name(f"{out.stem}-rollback{out.suffix or '.sql'}")


def write_files(out: Path, script: str, rollback: str, doc: dict[str, Any]) -> list[Path]:
    """The script, its rollback and the JSON beside it (out.json), each written atomically."""
    paths = [out, rollback_path(out), out.with_suffix(".json")]
    texts = [script, rollback, json.dumps(doc, indent=2, default=str) + "\n"]
    out.parent.mkdir(parents=True, exist_ok=True)
    for path, text in zip(paths, texts, strict=True):
        write_text_atomic(path, text)
    return paths


def write_suggestion(doc: dict[str, Any], out: Path) -> list[Path]:
    """phase-2.sql, phase-2-rollback.sql and phase-2.json from `suggest`'s document."""
    script = render_script(doc, suggest_head(doc["schema"], doc["threshold"]), {})
    rollback = render_rollback([i["name"] for i in doc["indexes"]], out.name)
    return write_files(out, script, rollback, doc)
