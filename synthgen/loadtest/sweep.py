"""`synthgen loadtest`: one pgbench step per client count, directly or through a PgBouncer.

Every step stops by itself after its duration (pgbench -T, and a kill past a grace period);
only the given DSN is targeted, and the production guard has cleared it before anything runs.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.errors import LoadTestError
from synthgen.loadtest.dsnparts import with_search_path
from synthgen.loadtest.pgbench import Script, find_pgbench, run_step
from synthgen.loadtest.pgbouncer import pgbouncer
from synthgen.loadtest.workload import read_workload, read_workload_scripts
from synthgen.postgres.connect import connect, fetch_all
from synthgen.postgres.dsn import mask_dsn
from synthgen.verify.baseline import present_indexes

# the knee: the first step after which throughput rises by less than this ...
KNEE_TPS_GAIN = 0.10
# ... while p99 climbs by more than this
KNEE_P99_RISE = 0.25


@dataclass(frozen=True)
class LoadTestOptions:
    """What `synthgen loadtest` needs."""

    workload: Path
    dsn: str
    clients: list[int]
    duration: int
    out: Path
    pool: str = "none"
    pool_size: int = 10
    label: str = "pre"
    rate: float | None = None
    mix: dict[str, int] | None = None  # overrides the workload's mix (same scripts)


def find_knee(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The client count after which throughput stops rising and p99 climbs, if the sweep saw it."""
    for here, there in itertools.pairwise(steps):
        gain = there["tps"] / here["tps"] - 1 if here["tps"] else 0.0
        rise = there["p99_ms"] / here["p99_ms"] - 1 if here.get("p99_ms") else 0.0
        if gain < KNEE_TPS_GAIN and rise > KNEE_P99_RISE:
            return {
                "clients": here["clients"],
                "reason": f"from {here['clients']} to {there['clients']} clients throughput "
                f"{gain:+.0%} while p99 {rise:+.0%}",
            }
    return {"clients": None, "reason": "not reached: throughput still rose at every step"}


def _scripts(workload: Path, doc: dict[str, Any]) -> list[Script]:
    return [
        Script(key, workload / doc["scripts"][key]["file"], int(weight))
        for key, weight in sorted(doc["mix"].items())
        if int(weight) > 0
    ]


def run_loadtest(opts: LoadTestOptions) -> dict[str, Any]:
    """Run the sweep and return the result document (written to `opts.out` as JSON)."""
    doc = read_workload(opts.workload)
    if opts.mix is not None:
        unknown = sorted(set(opts.mix) - set(doc["scripts"]))
        if unknown:
            raise LoadTestError(
                f"--mix {', '.join(unknown)}: not in the workload ({', '.join(doc['scripts'])})"
            )
        doc["mix"] = {k: v for k, v in opts.mix.items() if v > 0}
        read_workload_scripts(opts.workload, doc)
    schema = str(doc["schema"])
    scripts = _scripts(opts.workload, doc)
    pgbench = find_pgbench()
    with connect(opts.dsn, autocommit=True) as conn:
        # the schema's own indexes: not the draw tables' or the audit tables' keys
        indexes = [
            i["name"]
            for i in present_indexes(conn, schema)
            if not i["table"].startswith("synthgen_")
        ]
        version = fetch_all(conn, "SELECT current_setting('server_version')")[0][0]
        if not fetch_all(conn, "SELECT to_regclass($1)", (f"{schema}.synthgen_lt_rooms",))[0][0]:
            raise LoadTestError(
                f"schema {schema}: the workload's draw tables are gone; rerun workload"
            )
    log_root = opts.out.parent / f"{opts.out.stem}-logs"
    started = time.time()
    steps: list[dict[str, Any]] = []
    if opts.pool == "pgbouncer":
        with pgbouncer(opts.dsn, schema, opts.pool_size, max(opts.clients)) as pooler:
            for clients in opts.clients:
                steps.append(
                    run_step(
                        pgbench, pooler.dsn, scripts, clients, opts.duration, log_root, opts.rate
                    )
                )
    else:
        direct = with_search_path(opts.dsn, schema)
        for clients in opts.clients:
            steps.append(
                run_step(pgbench, direct, scripts, clients, opts.duration, log_root, opts.rate)
            )
    result = {
        "kind": "synthgen-loadtest",
        "label": opts.label,
        "pool": opts.pool,
        "pool_size": opts.pool_size if opts.pool == "pgbouncer" else None,
        "duration_s": opts.duration,
        "rate": opts.rate,
        "clients": opts.clients,
        "schema": schema,
        "dsn": mask_dsn(opts.dsn),
        "server_version": version,
        "indexes": indexes,
        "mix": doc["mix"],
        "scripts": {s.key: doc["scripts"][s.key] for s in scripts},
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": time.time() - started,
        "steps": steps,
        "knee": find_knee(steps),
        "logs": str(log_root),
    }
    write_json(opts.out, result)
    return result


def write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write a JSON document atomically (temporary name, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def read_result(path: Path) -> dict[str, Any]:
    """A loadtest result JSON; errors name the file."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise LoadTestError(f"{path}: no such load test result") from None
    except (OSError, ValueError) as exc:
        raise LoadTestError(f"{path}: unreadable ({exc})") from None
    if not isinstance(doc, dict) or doc.get("kind") != "synthgen-loadtest":
        raise LoadTestError(f"{path}: not a synthgen loadtest result")
    return doc
