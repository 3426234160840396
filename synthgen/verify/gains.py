"""What each new index cost and what it bought: its size (the post baseline's catalog read), its
build time (when the build was recorded: `synthgen run`, or `verify compare --builds` with the
JSON of `indexes apply --json`) and the gain of the query results whose post plan uses it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthgen.errors import VerifyError

if TYPE_CHECKING:
    from synthgen.verify.compare import QueryChange


def new_index_gains(
    changes: list[QueryChange],
    pre: dict[str, Any],
    post: dict[str, Any],
    builds: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    """One entry per index the post baseline has and the pre one does not: name, table, size,
    build seconds (None when not recorded), the queries using it and their gain (1 - the
    geometric mean of their post/pre p50 ratios; None when no measured query uses it)."""
    before = {i["name"] for i in pre.get("indexes", [])}
    out = []
    for index in post.get("indexes", []):
        name = index["name"]
        if name in before or index["table"].startswith("synthgen_lt_"):
            continue
        users = [c for c in changes if name in c.indexes_adopted]
        ratios = [c.post_p50_ms / c.pre_p50_ms for c in users if c.pre_p50_ms > 0 < c.post_p50_ms]
        gain = 1 - math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else None
        out.append(
            {
                "index": name,
                "table": index["table"],
                "size_bytes": index.get("size_bytes"),
                "build_seconds": (builds or {}).get(name),
                "queries": sorted({c.query for c in users}),
                "results": len(users),
                "gain": gain,
            }
        )
    return out


def gain_lines(entries: list[dict[str, Any]]) -> list[str]:
    """'idx on table: 12.3 MB, built in 1.20 s; used by q1, q2 (6 results): 87 % faster'."""
    lines = []
    for e in entries:
        size = f"{e['size_bytes'] / 1e6:.1f} MB" if e["size_bytes"] is not None else "size unknown"
        built = (
            f"built in {e['build_seconds']:.2f} s"
            if e["build_seconds"] is not None
            else "build time not recorded"
        )
        if e["gain"] is None:
            bought = "used by no measured query: it buys no read gain"
        else:
            gain = e["gain"]
            bought = (
                f"used by {', '.join(e['queries'])} ({e['results']} results): "
                + (f"{gain:.0%} faster" if round(gain, 2) >= 0 else f"{-gain:.0%} slower")
                + " (geometric mean of their p50s)"
            )
        lines.append(f"{e['index']} on {e['table']}: {size}, {built}; {bought}")
    return lines


def read_builds(path: Path) -> dict[str, float]:
    """Build seconds per index from the JSON `indexes apply --json` prints."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise VerifyError(f"--builds {path}: unreadable ({exc})") from None
    if not isinstance(doc, list) or not all(isinstance(s, dict) for s in doc):
        raise VerifyError(f"--builds {path}: not the JSON of `synthgen indexes apply --json`")
    return {str(s["index"]): float(s["seconds"]) for s in doc if s.get("index")}
