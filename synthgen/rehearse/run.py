"""`synthgen indexes rehearse`: run a migration script under the load test's workload and judge
what happened *while* it ran (locks, waits, WAL, latency), not only the result.

Order: static checks (a refusal stops here) -> the workload (pgbench in segments, ending a few
seconds after the script, at the latest ``settle + load_seconds``) -> settle -> optionally a
transaction holding a snapshot open -> the script, statement by statement, traced -> INVALID
indexes reported and dropped -> the load's end -> per-second latency, the verdict,
rehearse.json and rehearse.html. The caller has had the production guard clear the database.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen.errors import VerifyError
from synthgen.loadtest.pgbench import Script as LoadScript
from synthgen.loadtest.pgbouncer import pgbouncer
from synthgen.loadtest.sweep import write_json
from synthgen.loadtest.workload import read_workload
from synthgen.postgres.connect import Connection, connect, execute, fetch_all
from synthgen.postgres.dsn import with_search_path
from synthgen.rehearse import load as wl
from synthgen.rehearse.html import write_rehearse_html
from synthgen.rehearse.load import baseline_rate
from synthgen.rehearse.static import Finding, Script, read_script, refusals, warnings
from synthgen.rehearse.trace import counters, run_statement
from synthgen.rehearse.verdict import Limits, judge
from synthgen.schema import quote_ident
from synthgen.verify.indexes import duplicate_findings, invalid_indexes
from synthgen.verify.indexes import read_script as read_index_steps

RESULT_NAME, HTML_NAME = "rehearse.json", "rehearse.html"
_WRITES = re.compile(r"\b(?:INSERT\s+INTO|UPDATE)\s+\"?([A-Za-z_][\w$]*)", re.I)

Say = Callable[[str], None]


@dataclass(frozen=True)
class RehearseOptions:
    dsn: str
    schema: str
    file: Path
    out: Path
    workload: Path
    clients: int = 4
    rate: float | None = 20.0
    settle: int = 5
    load_seconds: int = 120
    pool: str = "none"
    pool_size: int = 10
    mix: dict[str, int] | None = None
    hold: float = 0.0
    limits: Limits = field(default_factory=Limits)
    large_rows: int = 1_000_000


class Refused(VerifyError):
    """The script cannot run as written (PostgreSQL would refuse it): nothing ran."""


def check_refusals(script: Script) -> None:
    found = refusals(script)
    if found:
        raise Refused(found[0].message)


def _scripts(opts: RehearseOptions, doc: dict[str, Any]) -> list[LoadScript]:
    mix = {k: v for k, v in (opts.mix or doc["mix"]).items() if v > 0}
    unknown = sorted(set(mix) - set(doc["scripts"]))
    if unknown:
        raise VerifyError(f"--mix {unknown[0]}: not in the workload ({', '.join(doc['scripts'])})")
    return [
        LoadScript(k, opts.workload / doc["scripts"][k]["file"], int(w))
        for k, w in sorted(mix.items())
    ]


def _statement_text(path: Path) -> str:
    """The last statement of a pgbench script: the one the workload measures."""
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("--")]
    body = "\n".join(lines)
    return body.rsplit("\\gset", 1)[-1].strip()


def classifier(scripts: list[LoadScript]) -> Callable[[str], str]:
    """A backend's query text -> the workload script it belongs to (W1, Q2 ...), else 'other'."""

    def norm(text: str) -> str:
        return " ".join(text.split()).lower()

    prefixes = []
    for s in scripts:
        text = norm(_statement_text(s.path))
        prefixes.append((re.split(r"[:$]", text, maxsplit=1)[0][:80], s.key))

    def classify(query: str) -> str:
        q = norm(query)
        return next((key for prefix, key in prefixes if prefix and q.startswith(prefix)), "other")

    return classify


def written_tables(scripts: list[LoadScript]) -> set[str]:
    return {t for s in scripts for t in _WRITES.findall(_statement_text(s.path))}


def _index_tables(conn: Connection, schema: str, script: Script) -> None:
    """The table of each DROP INDEX / REINDEX INDEX whose index exists before the script."""
    for st in script.statements:
        if st.index and st.table is None:
            rows = fetch_all(
                conn,
                "SELECT t.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                (schema, st.index),
            )
            st.table = str(rows[0][0]) if rows else None


def _table_rows(conn: Connection, schema: str) -> dict[str, int]:
    rows = fetch_all(
        conn,
        "SELECT c.relname, greatest(c.reltuples, 0)::bigint FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')",
        (schema,),
    )
    return {str(r[0]): int(r[1]) for r in rows}


@contextlib.contextmanager
def _load_target(opts: RehearseOptions) -> Iterator[str]:
    if opts.pool == "pgbouncer":
        with pgbouncer(opts.dsn, opts.schema, opts.pool_size, opts.clients) as pooler:
            yield pooler.dsn
    else:
        yield with_search_path(opts.dsn, opts.schema)


def _hold(dsn: str, seconds: float) -> tuple[threading.Thread, dict[str, Any]]:
    """A transaction that takes a snapshot now and keeps it `seconds` (then commits); its pid,
    and when it took the snapshot and committed (epoch s, filled in as they happen)."""
    conn = connect(dsn, autocommit=True)
    # a safety net: the server ends the session if this process dies while holding it
    execute(conn, f"SET idle_in_transaction_session_timeout = '{int(seconds * 1000) + 10000}ms'")
    info: dict[str, Any] = {"seconds": seconds}
    info["pid"] = int(fetch_all(conn, "SELECT pg_backend_pid()")[0][0])
    execute(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ")
    execute(conn, "SELECT count(*) FROM pg_class")  # the snapshot
    info["started"] = time.time()

    def release() -> None:
        time.sleep(seconds)
        try:
            execute(conn, "COMMIT")
            info["released"] = time.time()
        finally:
            conn.close()

    thread = threading.Thread(target=release, name="rehearse-hold", daemon=True)
    thread.start()
    return thread, info


def _run_script(
    opts: RehearseOptions, script: Script, classify: Callable[[str], str], say: Say
) -> list[dict[str, Any]]:
    work = connect(opts.dsn, autocommit=True)
    watch = connect(opts.dsn, autocommit=True)
    records: list[dict[str, Any]] = []
    try:
        execute(work, f"SET search_path TO {quote_ident(opts.schema)}")
        pid = int(fetch_all(work, "SELECT pg_backend_pid()")[0][0])
        for st in script.statements:
            if records and not records[-1]["ok"]:
                records.append(
                    {
                        "number": st.number,
                        "line": st.line,
                        "sql": st.head,
                        "skipped": True,
                        "ok": False,
                    }
                )
                continue
            record = run_statement(work, watch, pid, opts.schema, st, classify)
            records.append(record)
            say(
                f"  {st.number}: {record['seconds']:.2f} s {'ok' if record['ok'] else 'FAILED'}"
                f" - {st.head}"
            )
            if not record["ok"]:
                with contextlib.suppress(Exception):  # leave an aborted block, if in one
                    execute(work, "ROLLBACK")
    finally:
        work.close()
        watch.close()
    return records


def _drop_invalid(opts: RehearseOptions, before: set[str]) -> list[str]:
    """INVALID indexes the script left (a failed CONCURRENTLY build): reported, then dropped."""
    with connect(opts.dsn, autocommit=True) as conn:
        left = [name for name in invalid_indexes(conn, opts.schema) if name not in before]
        for name in left:
            execute(
                conn,
                f"DROP INDEX CONCURRENTLY IF EXISTS {quote_ident(opts.schema)}.{quote_ident(name)}",
            )
    return left


def rehearse(opts: RehearseOptions, say: Say) -> dict[str, Any]:
    """Rehearse the script under load; returns the result document (also written to out)."""
    script = read_script(opts.file)
    check_refusals(script)
    doc = read_workload(opts.workload)
    if doc["schema"] != opts.schema:
        raise VerifyError(f"--workload {opts.workload}: built for schema {doc['schema']}")
    scripts = _scripts(opts, doc)
    with connect(opts.dsn, autocommit=True) as conn:
        _index_tables(conn, opts.schema, script)
        found: list[Finding] = warnings(
            script, _table_rows(conn, opts.schema), written_tables(scripts), opts.large_rows
        )
        # an index the table (or the script) already has in another form: the index gate's check
        dups = duplicate_findings(conn, opts.schema, read_index_steps(opts.file))
        found += [Finding("warn", "duplicate-index", None, text) for text in dups]
        before = set(invalid_indexes(conn, opts.schema))
        wal_level = str(fetch_all(conn, "SELECT current_setting('wal_level')")[0][0])
    for finding in found:
        say(f"warning: {finding.message}")
    opts.out.mkdir(parents=True, exist_ok=True)
    run = _under_load(opts, script, scripts, before, say)
    run.wal_level = wal_level
    if wal_level == "minimal":
        run.notes.append(
            "wal_level is minimal: a non-concurrent build of a new index writes no WAL here, "
            "unlike on a server with replicas (wal_level replica)"
        )
    return _finish(opts, found, run)


@dataclass
class _Run:
    """What happened under load: the statements, the INVALID indexes, the load itself."""

    records: list[dict[str, Any]]
    invalid: list[str]
    load: wl.Load
    step: dict[str, Any]
    hold: dict[str, Any] | None  # --hold-transaction: pid, started, released
    wal_rate: float  # bytes/s the workload alone wrote while settling
    notes: list[str] = field(default_factory=list)
    wal_level: str = ""


def _under_load(
    opts: RehearseOptions, script: Script, scripts: list[LoadScript], before: set[str], say: Say
) -> _Run:
    seconds = opts.settle + opts.load_seconds
    with _load_target(opts) as target:
        load = wl.Load(
            target, scripts, opts.clients, seconds, opts.out / "rehearse-logs", opts.rate
        )
        load.start()
        say(
            f"workload: {opts.clients} clients at {opts.rate or 'full'} tx/s, settling "
            f"{opts.settle} s; it stops a few seconds after the script (at most {seconds} s)"
        )
        time.sleep(min(1.0, opts.settle))
        with connect(opts.dsn, autocommit=True) as conn:
            wal0, t_wal0 = counters(conn)[0], time.time()
            time.sleep(max(0.0, load.started + opts.settle - time.time()))
            wal1, t_wal1 = counters(conn)[0], time.time()
        if not load.alive():
            load.wait()  # raises pgbench's error
        hold = _hold(opts.dsn, opts.hold) if opts.hold > 0 else None
        try:
            records = _run_script(opts, script, classifier(scripts), say)
            invalid = _drop_invalid(opts, before)
        finally:
            load.finish()
        if hold is not None:
            hold[0].join()
        step = load.wait()
    rate = (wal1 - wal0) / max(t_wal1 - t_wal0, 1e-3)
    return _Run(records, invalid, load, step, hold[1] if hold else None, rate)


def _finish(opts: RehearseOptions, found: list[Finding], run: _Run) -> dict[str, Any]:
    load = run.load
    keys = [s.key for s in load.scripts]
    tx = wl.read_transactions(load.log_paths(), keys)
    ran = [r for r in run.records if not r.get("skipped")]
    lo, hi = ran[0]["started"], ran[-1]["ended"]
    baseline = wl.window(tx, keys, load.started + 1.0, lo)
    during = wl.window(tx, keys, lo, hi)
    verdict = judge(run.records, baseline, during, run.invalid, opts.limits)
    if hi > load.ended:
        run.notes.append(
            f"the script ran {hi - load.ended:.1f} s past the load's end (--load-seconds "
            f"{opts.load_seconds}): raise it to judge all of it under load"
        )
    settled = baseline_rate(tx, load.started + 1.0, lo)
    if opts.rate and settled < 0.8 * opts.rate:
        run.notes.append(
            f"the workload did not keep up with --rate {opts.rate:g} tx/s before the script "
            f"({settled:.0f} tx/s): its latencies include the queue; a lower rate measures the "
            "script's own effect"
        )
    for r in ran:
        r["wal_bytes_beyond_workload"] = max(0, int(r["wal_bytes"] - run.wal_rate * r["seconds"]))
    result = {
        "kind": "synthgen-rehearsal",
        **verdict,
        "file": str(opts.file),
        "schema": opts.schema,
        "findings": [f.to_dict() for f in found],
        "statements": run.records,
        "invalid_indexes": run.invalid,
        "notes": run.notes,
        "wal_level": run.wal_level,
        "load": {
            "clients": opts.clients,
            "rate": opts.rate,
            "pool": opts.pool,
            "seconds": round(load.ended - load.started, 3),
            "segments": run.step.get("segments"),
            "settle": opts.settle,
            "started": load.started,
            "scripts": keys,
            "transactions": run.step.get("transactions"),
            "errors": run.step.get("errors"),
            "error_sample": run.step.get("error_sample"),
            "wal_bytes_per_s": run.wal_rate,
        },
        "hold": run.hold,
        "baseline": baseline,
        "during": during,
        "per_second": wl.per_second(tx, keys, load.started),
    }
    write_json(opts.out / RESULT_NAME, result)
    write_rehearse_html(opts.out / HTML_NAME, result)
    return result


def read_result(path: Path) -> dict[str, Any]:
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise VerifyError(f"{path}: no readable rehearsal ({exc})") from None
    return doc
