"""Captured statements -> query files (the verifier's header format) and the audit record.

Each file carries production's numbers on a `-- production:` line (calls, mean and total time,
rows per call, and the statement's shares of the captured calls and time), a `-- param` line per
inferred `$n`, a `-- limit:` line for a LIMIT / OFFSET constant pg_stat_statements did not keep
(the stated default stands in), and a `-- todo:` line per parameter that could not be inferred:
such a file is left out of runs until someone declares the parameter and deletes the line.
Reads go to OUT, writes (INSERT / UPDATE / DELETE) to OUT/writes, where only the load-test
workload reads them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from synthgen import __version__
from synthgen.files import atomic_path, json_text
from synthgen.mapping import Mapping
from synthgen.postgres.dsn import mask_dsn_host
from synthgen.sample.audit import query_entries
from synthgen.sample.errors import PrivacyError, SampleError
from synthgen.sample.pii import find_pii
from synthgen.sample.session import read_only_session
from synthgen.sample.statements import (
    DEFAULT_LIMIT,
    Capture,
    Captured,
    classify,
    column_types,
    read_raw,
    slug,
    weights,
)

AUDIT_FORMAT = "synthgen-statements-audit"
AUDIT_FILE = "statements.audit.json"
WRITES_DIR = "writes"
FIRST_WRITE = 3  # W1 and W2 are the workload's own writes
_BREAK = re.compile(r" (?=(?:FROM|WHERE|GROUP BY|ORDER BY|LIMIT|OFFSET|JOIN|LEFT JOIN|SET)\b)")


@dataclass(frozen=True)
class StatementOptions:
    """What to capture and where."""

    dsn: str
    out: Path
    mapping: Mapping = field(default_factory=Mapping)
    top: int = 20
    by: str = "total"  # or "calls"
    default_limit: int = DEFAULT_LIMIT
    statement_timeout_s: float = 60.0
    dry_run: bool = False


@dataclass
class Rendered:
    """One query file to write: where, its text, and what it says about itself."""

    path: Path  # relative to OUT
    key: str
    text: str
    statement: Captured
    weight: dict[str, Any]


@dataclass
class StatementResult:
    capture: Capture
    files: list[Rendered]
    audit: dict[str, Any]
    out: Path
    written: bool


def _numbering(s: Captured) -> dict[int, int]:
    kept = sorted(set(s.params) | set(s.todo))
    return {old: new for new, old in enumerate(kept, start=1)}


def render_sql(s: Captured) -> str:
    """The statement with LIMIT / OFFSET constants in place and the other `$n` renumbered."""
    numbers = _numbering(s)

    def swap(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n in s.constants:
            return str(s.constants[n][1])
        return f"${numbers[n]}"

    return _BREAK.sub("\n", re.sub(r"\$(\d+)\b", swap, s.text))


def render(s: Captured, key: str, rank: int, by: str, weight: dict[str, Any]) -> str:
    """One query file's text."""
    numbers = _numbering(s)
    verb = "write" if s.kind == "write" else "read"
    ranked = "total time" if by == "total" else "calls"
    production = " ".join(f"{k}={weight[k]}" for k in weight)
    lines = [
        f"-- name: {key.upper()} captured {verb} on {', '.join(s.tables)}",
        f"-- purpose: production's statement ranked {rank} by {ranked} in pg_stat_statements "
        "(normalized text, no values)",
        f"-- production: {production}",
    ]
    for old, (type_, kind, where) in sorted(s.params.items()):
        lines.append(f"-- param ${numbers[old]} {type_} {kind}: compared with {where}")
    for old, (word, value, _) in sorted(s.constants.items()):
        lines.append(
            f"-- limit: {word} {value} stands for production's ${old}: pg_stat_statements does "
            "not keep the constant; this is the default (edit it to production's value)"
        )
    for old, why in sorted(s.todo.items()):
        lines.append(
            f"-- todo: ${numbers[old]} {why}; declare it with a `-- param ${numbers[old]} TYPE "
            "KIND` line, then delete this line (the file is left out of runs until then)"
        )
    return "\n".join(lines) + "\n" + render_sql(s) + ";\n"


def render_all(capture: Capture, by: str) -> list[Rendered]:
    """Reads as q1, q2, ... (in rank order); writes as writes/w3, w4, ..."""
    shares = weights(capture.statements)
    files: list[Rendered] = []
    reads, writes = 0, FIRST_WRITE - 1
    for i, s in enumerate(capture.statements):
        if s.kind == "write":
            writes += 1
            key, folder = f"w{writes}", Path(WRITES_DIR)
        else:
            reads += 1
            key, folder = f"q{reads}", Path()
        text = render(s, key, i + 1, by, shares[i])
        files.append(Rendered(folder / f"{key}_{slug(s)}.sql", key, text, s, shares[i]))
    return files


def scan(files: list[Rendered]) -> None:
    """Refuse the whole capture when any file looks like it holds personal data."""
    for f in files:
        found = find_pii(f.text)
        if found:
            raise PrivacyError(
                f"{f.path}: looks like it holds {', '.join(found)}; nothing was written"
            )


def _check(options: StatementOptions) -> None:
    if options.top < 1:
        raise SampleError(f"--top: must be >= 1 (got {options.top})")
    if options.by not in ("total", "calls"):
        raise SampleError(f"--by: {options.by!r} is not total or calls")
    out = options.out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SampleError(f"--out {out}: exists and is not an empty directory")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise SampleError(f"--out {out}: its directory {parent} does not exist")


def _write(out: Path, files: list[Rendered], audit: dict[str, Any]) -> None:
    """Write every file into a temporary directory beside OUT, then rename it into place."""
    with atomic_path(out) as tmp:
        (tmp / WRITES_DIR).mkdir(parents=True)
        for f in files:
            (tmp / f.path).write_text(f.text)
        (tmp / AUDIT_FILE).write_text(json_text(audit, sort_keys=True))
        if out.exists():
            out.rmdir()  # checked empty before the capture


def _audit(
    options: StatementOptions, started: datetime, capture: Capture, files: list[Rendered], ex: Any
) -> dict[str, Any]:
    return {
        "format": AUDIT_FORMAT,
        "synthgen_version": __version__,
        "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dsn": mask_dsn_host(options.dsn),
        "server_version": capture.server_version,
        "top": options.top,
        "ranked_by": options.by,
        "default_limit": options.default_limit,
        "queries": query_entries(ex),
        "statements": {
            "read": capture.read,
            "dropped_literal": capture.dropped_literal,
            "not_visible": capture.not_visible,
            "other_tables": capture.other_tables,
            "not_queries": capture.not_queries,
            "beyond_top": capture.beyond_top,
            "written": len(files),
            "todo": sum(1 for f in files if f.statement.todo),
        },
        "files": [
            {
                "file": str(f.path),
                "kind": f.statement.kind,
                "todo": bool(f.statement.todo),
                "sha256": hashlib.sha256(f.text.encode()).hexdigest(),
            }
            for f in files
        ],
    }


def capture_statements(options: StatementOptions) -> StatementResult:
    """Capture, render, scan, then (unless a dry run) write OUT and its audit record."""
    _check(options)
    started = datetime.now(UTC)
    with read_only_session(options.dsn, [], options.statement_timeout_s) as session:
        raw = read_raw(session)
        types = column_types(session, options.mapping)
        version = str(session.scalar("SELECT current_setting('server_version')"))
        executed = list(session.executed)
    capture = classify(raw, options.mapping, types, options.top, options.by, options.default_limit)
    capture.server_version = version
    files = render_all(capture, options.by)
    scan(files)
    audit = _audit(options, started, capture, files, executed)
    if not options.dry_run:
        _write(options.out, files, audit)
    return StatementResult(capture, files, audit, options.out, not options.dry_run)
