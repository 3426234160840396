"""`synthgen loadtest`: one pgbench step per client count, directly or through a PgBouncer,
then (unless `--closed-loop`) the capacity and one open-loop step per offered rate.

Every step stops by itself after its duration (pgbench -T, and a kill past a grace period);
only the given DSN is targeted, and the production guard has cleared it before anything runs.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.errors import LoadTestError
from synthgen.files import write_json_atomic
from synthgen.loadtest.capacity import (
    DEFAULT_FRACTIONS,
    derive_slo,
    find_capacity,
    offered_rates,
    rate_step_seconds,
    write_rate,
)
from synthgen.loadtest.pgbench import Script, find_pgbench, run_step, summarise_logs
from synthgen.loadtest.pgbouncer import Pooler, pgbouncer
from synthgen.loadtest.workload import read_workload, read_workload_scripts
from synthgen.postgres.connect import connect, fetch_all
from synthgen.postgres.dsn import mask_dsn, with_search_path
from synthgen.progress import Tick
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
    mix: dict[str, int] | None = None  # overrides the workload's mix (same scripts)
    closed_loop: bool = False  # only the client sweep: no capacity, no offered rates
    slo: dict[str, float] | None = None  # given SLOs (ms) per script; the rest derived
    rates: list[float] | None = None  # explicit offered rates (tx/s) instead of fractions
    fractions: tuple[float, ...] = DEFAULT_FRACTIONS  # of the baseline's capacity
    baseline: dict[str, Any] | None = None  # an earlier result: its SLOs and rates are reused
    tick: Tick | None = None  # each running step's seconds (a progress bar)


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
    """Run the sweep and return the result document (written to `opts.out` as JSON).

    The closed-loop client steps come first (they find the capacity), then one open-loop step
    per offered rate. A step that fails leaves the steps done so far in `opts.out`, marked
    partial, and the error names the step and the file."""
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
    indexes, version = _server_facts(opts.dsn, schema)
    started = time.time()
    result: dict[str, Any] = {
        "kind": "synthgen-loadtest",
        "mode": "closed-loop" if opts.closed_loop else "offered",
        "label": opts.label,
        "pool": opts.pool,
        "pool_size": opts.pool_size if opts.pool == "pgbouncer" else None,
        "duration_s": opts.duration,
        "clients": opts.clients,
        "schema": schema,
        "dsn": mask_dsn(opts.dsn),
        "server_version": version,
        "indexes": indexes,
        "mix": doc["mix"],
        "scripts": {s.key: doc["scripts"][s.key] for s in scripts},
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "logs": str(opts.out.parent / f"{opts.out.stem}-logs"),
        "partial": False,
        "steps": [],
    }
    try:
        if opts.pool == "pgbouncer":
            top = max(opts.clients)
            with pgbouncer(opts.dsn, schema, opts.pool_size, top) as pooler:
                _measure(opts, result, pgbench, pooler.dsn, scripts, pooler)
        else:
            _measure(opts, result, pgbench, with_search_path(opts.dsn, schema), scripts, None)
    except LoadTestError as exc:
        result.update(partial=True, error=str(exc), seconds=time.time() - started)
        write_json(opts.out, result)
        raise LoadTestError(
            f"{exc}; partial results ({len(result['steps'])} client steps, "
            f"{len(result.get('rates', []))} rate steps) written to {opts.out}, marked partial"
        ) from None
    result["seconds"] = time.time() - started
    write_json(opts.out, result)
    return result


def _server_facts(dsn: str, schema: str) -> tuple[list[str], str]:
    """The schema's own indexes (not the draw or audit tables' keys) and the server version."""
    with connect(dsn, autocommit=True) as conn:
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
    return indexes, str(version)


def _measure(
    opts: LoadTestOptions,
    result: dict[str, Any],
    pgbench: str,
    dsn: str,
    scripts: list[Script],
    pooler: Pooler | None,
) -> None:
    """The client steps, then (unless closed loop) capacity, SLOs and the offered-rate steps;
    each step lands in `result` as soon as it is done."""
    log_root = Path(result["logs"])
    prefix = f"{result['label']}, {'pgbouncer' if pooler else 'direct'}"

    def tick(step: str, done: float, total: float | None) -> None:
        if opts.tick is not None:
            opts.tick(f"load test {prefix}: {step}", done, total)

    def step(
        clients: int,
        rate: float | None = None,
        seconds: int = 0,
        only: list[Script] | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        seconds = seconds or opts.duration
        try:
            done = run_step(
                pgbench, dsn, only or scripts, clients, seconds, log_root, rate, name, tick
            )
        except LoadTestError:
            _check_pooler(pooler, clients, rate)
            raise
        _check_pooler(pooler, clients, rate)
        return done

    for clients in opts.clients:
        result["steps"].append(step(clients))
    result["knee"] = find_knee(result["steps"])
    if not opts.closed_loop:
        _offered_steps(opts, result, scripts, step, log_root)


def _offered_steps(
    opts: LoadTestOptions,
    result: dict[str, Any],
    scripts: list[Script],
    step: Callable[..., dict[str, Any]],
    log_root: Path,
) -> None:
    """SLOs, capacity, then one open-loop step per offered rate (the baseline's when given),
    then each write alone at an offered rate: its p95 judged on enough transactions even when
    the mix runs it rarely."""
    base = opts.baseline
    result["slo"] = base["slo"] if base is not None else derive_slo(result["steps"], opts.slo)
    result["capacity"] = find_capacity(result["steps"], result["slo"])
    own = result["capacity"]["tps"]
    if base is not None:
        rates = [
            {"fraction": r["fraction"], "rate": r["offered_tps"], "seconds": r["duration_s"]}
            for r in base["rates"]
        ]
        result["rate_basis"] = {"label": base["label"], "capacity_tps": base["capacity"]["tps"]}
    else:
        rates = (
            [{"fraction": None, "rate": r} for r in opts.rates]
            if opts.rates
            else offered_rates(own, opts.fractions)
        )
        result["rate_basis"] = {"label": opts.label, "capacity_tps": own}
    result["rate_clients"] = max(opts.clients)
    result["rates"] = []
    for offered in rates:
        seconds = offered.get("seconds") or rate_step_seconds(
            offered["rate"], result["mix"], opts.duration
        )
        measured = step(result["rate_clients"], offered["rate"], int(seconds))
        result["rates"].append({**measured, "fraction": offered["fraction"]})
    # every rate step's transactions together, per query: the same rates and seconds before
    # and after, so still like with like, for a script too rare to judge at one rate alone
    logs = [path for r in rates for path in log_root.glob(f"r{r['rate']:g}.*")]
    result["rates_pooled"] = summarise_logs(sorted(logs), [s.key for s in scripts])["queries"]
    given = {w["script"]: w for w in (base or {}).get("write_steps", [])}
    top = max(r["rate"] for r in rates)
    result["write_steps"] = []
    for script in scripts:
        if result["scripts"][script.key].get("kind") != "write":
            continue
        earlier = given.get(script.key)
        rate = earlier["offered_tps"] if earlier else write_rate(top, opts.duration)
        seconds = earlier["duration_s"] if earlier else opts.duration
        alone = Script(script.key, script.path, 1)
        measured = step(result["rate_clients"], rate, int(seconds), [alone], f"w{script.key}-")
        result["write_steps"].append({**measured, "script": script.key})


def _check_pooler(pooler: Pooler | None, clients: int, rate: float | None) -> None:
    code = pooler.exited() if pooler is not None else None
    if code is not None:
        where = f"{rate:g} tx/s offered" if rate else f"{clients} clients"
        raise LoadTestError(f"PgBouncer exited (code {code}) during the step at {where}")


def write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write a JSON document atomically (temporary name, then rename)."""
    write_json_atomic(path, doc, sort_keys=True, parents=True)


# the fields a command reads from a result, by where they sit: (field, type)
_TOP = (("label", str), ("pool", str), ("indexes", list), ("scripts", dict), ("steps", list))
_OFFERED = (("slo", dict), ("capacity", dict), ("rates", list), ("rate_basis", dict))
_STEP = (("clients", int), ("tps", (int, float)), ("queries", dict))
_RATE = (("offered_tps", (int, float)), ("tps", (int, float)), ("queries", dict))


def _check_fields(path: Path, doc: dict[str, Any], fields: Any, where: str = "") -> None:
    for name, kind in fields:
        if name not in doc:
            raise LoadTestError(f"{path}: field '{where}{name}' is missing")
        if not isinstance(doc[name], kind) or isinstance(doc[name], bool):
            raise LoadTestError(f"{path}: field '{where}{name}' has the wrong type")


def read_result(path: Path, whole: bool = True) -> dict[str, Any]:
    """A loadtest result JSON, checked against the fields commands read; errors name the file
    and the field. `whole`: refuse a partial result (a sweep that stopped on an error)."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise LoadTestError(f"{path}: no such load test result") from None
    except (OSError, ValueError) as exc:
        raise LoadTestError(f"{path}: unreadable ({exc})") from None
    if not isinstance(doc, dict) or doc.get("kind") != "synthgen-loadtest":
        raise LoadTestError(f"{path}: not a synthgen loadtest result")
    _check_fields(path, doc, _TOP)
    offered = doc.get("mode", "closed-loop") == "offered"
    if offered:
        _check_fields(path, doc, _OFFERED)
        _check_fields(path, doc["capacity"], (("tps", (int, float)),), "capacity.")
    for i, step in enumerate(doc["steps"]):
        _check_fields(path, step if isinstance(step, dict) else {}, _STEP, f"steps[{i}].")
    for i, step in enumerate(doc.get("rates", []) if offered else []):
        _check_fields(path, step if isinstance(step, dict) else {}, _RATE, f"rates[{i}].")
    if whole and doc.get("partial"):
        raise LoadTestError(
            f"{path}: partial result (the sweep stopped: {doc.get('error', 'unknown error')})"
        )
    return doc
