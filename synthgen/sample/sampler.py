"""`synthgen sample`: measure production's shape with aggregate SQL and publish it safely.

Order of work: refuse without the salt; open a read-only transaction; check the mapped columns
exist; run the aggregate statements; apply K-merging / noise; build the document; scan it; only
then write the output and, beside it, the audit manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from synthgen import __version__
from synthgen.mapping import SAMPLED_COLUMNS, Mapping
from synthgen.postgres.dsn import mask_dsn_host
from synthgen.sample.audit import (
    AUDIT_FORMAT,
    audit_path_for,
    query_entries,
    write_json_atomic,
)
from synthgen.sample.errors import SampleError
from synthgen.sample.histograms import HistogramSpec, Thresholds, known_strings, registry
from synthgen.sample.metrics import FORMAT, VERSION, structural_keys
from synthgen.sample.privacy import fingerprint, salt_from_env, scan_output, token
from synthgen.sample.publish import NEIGHBOURING, RawCounts, collect, empty_counts, publish
from synthgen.sample.queries import QueryBuilder
from synthgen.sample.session import Executed, ReadOnlySession, read_only_session
from synthgen.schema import quote_ident, quote_literal

MIN_WINDOW_MESSAGES = 5_000  # below it, most histograms publish only a few merged buckets


@dataclass(frozen=True)
class SampleOptions:
    """What to sample and how to protect it."""

    dsn: str
    out: Path
    mapping: Mapping = field(default_factory=Mapping)
    thresholds: Thresholds = field(default_factory=Thresholds)
    min_bucket_count: int = 10
    epsilon: float | None = None
    statement_timeout_s: float = 300.0
    window_end: datetime | None = None  # default: the server's current day, 00:00 UTC


@dataclass(frozen=True)
class SampleResult:
    """The written shape metrics and audit manifest."""

    metrics: dict[str, Any]
    audit: dict[str, Any]
    out: Path
    audit_path: Path
    warnings: list[str] = field(default_factory=list)


def thin_window_warning(metrics: dict[str, Any]) -> str | None:
    """A warning when the published window holds fewer than MIN_WINDOW_MESSAGES messages: the
    fits then rest on a few buckets, or calibration refuses for want of data."""
    counts = metrics["histograms"]["message_types"].get("counts", {})
    messages = int(sum(counts.values()))
    if messages >= MIN_WINDOW_MESSAGES:
        return None
    w = metrics["window"]
    return (
        f"the window {w['start']} to {w['end']} holds only {messages:,} messages (fewer than "
        f"{MIN_WINDOW_MESSAGES:,}): calibration will be coarse or refused; widen it with "
        f"--window-days (now {w['days']}) or move it with --window-end DATE"
    )


def _check_options(o: SampleOptions) -> None:
    if o.min_bucket_count < 2:
        raise SampleError(f"--min-bucket-count: must be >= 2 (got {o.min_bucket_count})")
    if o.epsilon is not None and not o.epsilon > 0:
        raise SampleError(f"--epsilon: must be > 0 (got {o.epsilon})")
    if o.thresholds.window_days < 1:
        raise SampleError(f"--window-days: must be >= 1 (got {o.thresholds.window_days})")
    if o.statement_timeout_s <= 0:
        raise SampleError("--statement-timeout: must be > 0 seconds")
    parent = o.out.parent if str(o.out.parent) else Path(".")
    if not parent.is_dir():
        raise SampleError(f"--out {o.out}: its directory {parent} does not exist")


def _relations(mapping: Mapping) -> list[str]:
    return [
        quote_literal(f"{quote_ident(mapping.schema)}.{quote_ident(mapping.table_name(t))}")
        for t in SAMPLED_COLUMNS
    ]


def check_columns(session: ReadOnlySession, mapping: Mapping) -> None:
    """Refuse early, naming the contract column, when a mapped table or column is missing."""
    rows = session.fetch(
        "SELECT table_name::text, column_name::text FROM information_schema.columns "
        f"WHERE table_schema = {quote_literal(mapping.schema)}"
    )
    present = {(str(t), str(c)) for t, c in rows}
    for table, column in mapping.used_columns():
        prod_table, prod_column = mapping.table_name(table), mapping.column_name(table, column)
        if (prod_table, prod_column) not in present:
            raise SampleError(
                f"{table}.{column} (mapped to {mapping.schema}.{prod_table}.{prod_column}) is not "
                "visible to this user: check --schema / --mapping and SELECT grants"
            )


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Measured:
    """What one read-only session measured: raw counts (never written as such) and context."""

    raw: RawCounts
    start: datetime
    end: datetime
    server_version: str
    database: str
    executed: list[Executed]


def measure(options: SampleOptions, specs: dict[str, HistogramSpec]) -> Measured:
    """Run every aggregate statement in one read-only transaction (always rolled back)."""
    t, mapping = options.thresholds, options.mapping
    raw = empty_counts(specs)
    relations = _relations(mapping)
    with read_only_session(options.dsn, relations, options.statement_timeout_s) as session:
        check_columns(session, mapping)
        end = options.window_end or session.scalar("SELECT date_trunc('day', now())")
        end = end.astimezone(UTC) if end.tzinfo else end.replace(tzinfo=UTC)
        start = end - timedelta(days=t.window_days)
        for query in QueryBuilder(mapping, t, specs, start, end).all():
            collect(session.run(query.name, query.sql), specs, raw)
        version = str(session.scalar("SELECT current_setting('server_version')"))
        database = str(session.scalar("SELECT current_database()"))
        return Measured(raw, start, end, version, database, session.executed)


def _document(
    options: SampleOptions, salt: bytes, measured: Measured, published: tuple[Any, Any]
) -> dict[str, Any]:
    t, mapping = options.thresholds, options.mapping
    histograms, privacy = published
    privacy["salt_fingerprint"] = fingerprint(salt)
    window = {"days": t.window_days, "start": _iso(measured.start), "end": _iso(measured.end)}
    return {
        "format": FORMAT,
        "version": VERSION,
        "synthgen_version": __version__,
        "window": window,
        "thresholds": {
            "large_group_min_members": t.large_group_min_members,
            "heavy_min_messages": t.heavy_min_messages,
            "burst_min_messages": t.burst_min_messages,
        },
        "privacy": privacy,
        "source": {
            "database": token(salt, "database", measured.database),
            "schema": token(salt, "schema", mapping.schema),
            "tables": {
                name: token(salt, "table", f"{mapping.schema}.{mapping.table_name(name)}")
                for name in SAMPLED_COLUMNS
            },
        },
        "histograms": histograms,
    }


def _audit(
    options: SampleOptions,
    started: datetime,
    measured: Measured,
    metrics: dict[str, Any],
    digest: str,
) -> dict[str, Any]:
    privacy = metrics["privacy"]
    return {
        "format": AUDIT_FORMAT,
        "version": VERSION,
        "synthgen_version": __version__,
        "started_at": _iso(started),
        "finished_at": _iso(datetime.now(UTC)),
        "dsn": mask_dsn_host(options.dsn),
        "server_version": measured.server_version,
        "transaction": {
            "isolation": "repeatable read",
            "read_only": True,
            "statement_timeout_seconds": options.statement_timeout_s,
            "parallel_workers": 0,
        },
        "salt_fingerprint": privacy["salt_fingerprint"],
        "min_bucket_count": options.min_bucket_count,
        "epsilon": options.epsilon,
        "epsilon_split": privacy["epsilon_split"],
        "window": metrics["window"],
        "queries": query_entries(measured.executed),
        "rows_scanned": sum(e.rows_scanned for e in measured.executed),
        "output": {"file": options.out.name, "sha256": digest},
    }


def sample_shape(
    options: SampleOptions,
    environ: dict[str, str] | None = None,
    rng: np.random.Generator | None = None,
) -> SampleResult:
    """Sample production's shape into `options.out` (and its audit manifest beside it).

    Nothing is written unless the finished document passes the output scan.
    """
    salt = salt_from_env(environ)  # before anything else: no salt, no connection
    _check_options(options)
    started = datetime.now(UTC)
    t = options.thresholds
    specs = registry(t)
    measured = measure(options, specs)
    published = publish(measured.raw, specs, options.min_bucket_count, options.epsilon, rng)
    metrics = _document(options, salt, measured, published)
    scan_output(
        metrics,
        structural_keys(t) | known_strings(t),
        known_strings(t) | {FORMAT, "laplace", "none", NEIGHBOURING},
    )
    digest = write_json_atomic(options.out, metrics)
    audit = _audit(options, started, measured, metrics, digest)
    audit_path = audit_path_for(options.out)
    write_json_atomic(audit_path, audit)
    thin = thin_window_warning(metrics)
    return SampleResult(metrics, audit, options.out, audit_path, [thin] if thin else [])
