"""`synthgen run --suggest`: the suggest and prove stages in one, after the load. It writes the
suggested script (phase-2-suggested.sql), the proven one (phase-2.sql, the kept set) with their
rollbacks and JSON (phase-2.json: the run report's section "Suggested indexes: estimated vs
measured"), prove's table (prove.txt: estimated vs measured gain per index), and prove's
baselines without and with the kept indexes as the run's baseline-pre.json / baseline-post.json,
which the run's index gate then compares. Prove times each query x class at most RUNS (15)
times: a pipeline's minutes go to the slow queries the indexes exist to fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthgen.files import write_text_atomic
from synthgen.loadtest.prove import RUNS, ProveOptions, prove
from synthgen.loadtest.proven import table_lines, write_proven
from synthgen.mapping import Mapping
from synthgen.postgres.connect import connect, execute
from synthgen.schema import quote_ident
from synthgen.verify.hypo import require_hypopg
from synthgen.verify.params import sample_parameters
from synthgen.verify.queries import Query
from synthgen.verify.suggest import suggest
from synthgen.verify.suggest_script import write_suggestion


def suggest_and_prove(
    dsn: str,
    schema: str,
    out: Path,
    queries: list[Query],
    queries_dir: Path | None,
    names: Mapping | None,
    dataset: Path,
    runs: int,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Suggest, prove, and write the files above; returns the stage's summary."""
    conn = connect(dsn, autocommit=True)
    try:
        hypopg = require_hypopg(conn)
        execute(conn, f"SET search_path TO {quote_ident(schema)}, public")
        if names is not None:
            from synthgen.load.mapped.params import mapped_parameters

            params = mapped_parameters(conn, names, dataset)
        else:
            params = sample_parameters(conn)
        doc = suggest(conn, schema, queries, params, hypopg)
        suggested = out / "phase-2-suggested.sql"
        write_suggestion(doc, suggested)
        say(f"  suggested {len(doc['indexes'])} indexes: {suggested}")
        baselines: dict[str, Any] = {}
        estimates = {i["name"]: i["estimates"] for i in doc["indexes"]}
        opts = ProveOptions(
            dsn, schema, suggested, out / "prove", queries, params, queries_dir, names,
            estimates, min(runs, RUNS),
        )  # fmt: skip
        report = prove(conn, opts, say, baselines)
    finally:
        conn.close()
    write_proven(report, doc, out / "phase-2.sql")
    lines = table_lines(report)
    write_text_atomic(out / "prove.txt", "\n".join(lines) + "\n")
    for line in lines:
        say(f"  {line}")
    for label in ("pre", "post"):
        base = baselines.get(label, baselines["pre"])
        write_text_atomic(out / f"baseline-{label}.json", json.dumps(base, indent=2, default=str))
    return {
        "summary": f"{len(doc['indexes'])} suggested, {len(report['kept'])} kept "
        f"({', '.join(report['kept']) or 'none'}); see {out / 'prove.txt'}",
        "suggested": [i["name"] for i in doc["indexes"]],
        "kept": report["kept"],
        "served_by_existing": doc["served_by_existing"],
        "table": lines,
    }
