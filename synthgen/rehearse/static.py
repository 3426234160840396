"""Static checks of a migration script, before anything runs.

Each statement is classified by the lock PostgreSQL takes on its table (from the documentation's
"Explicit Locking" table) and whether it rewrites the table. Findings:

- ``refuse``: CONCURRENTLY inside a transaction block — PostgreSQL refuses it (SQLSTATE 25001),
  so the rehearsal stops before starting any load;
- ``warn``: a non-concurrent index build or a table rewrite on a large table, no ``lock_timeout``
  / ``statement_timeout`` set before the first statement that takes a lock, a statement that
  takes ACCESS EXCLUSIVE on a table the workload writes. The live run decides the verdict.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from synthgen.errors import VerifyError
from synthgen.verify.queries import split_statements

ACCESS_EXCLUSIVE = "AccessExclusiveLock"
SHARE = "ShareLock"
SHARE_UPDATE_EXCLUSIVE = "ShareUpdateExclusiveLock"
SHARE_ROW_EXCLUSIVE = "ShareRowExclusiveLock"
_NAME = r'((?:"[^"]+"|[A-Za-z_][\w$]*)(?:\.(?:"[^"]+"|[A-Za-z_][\w$]*))?)'
_ON_TABLE = re.compile(r"\bON\s+(?:ONLY\s+)?" + _NAME, re.I)
_ALTER_TABLE = re.compile(r"^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?" + _NAME, re.I)
_TRUNCATE = re.compile(r"^TRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?" + _NAME, re.I)
_LOCK = re.compile(r"^LOCK\s+(?:TABLE\s+)?(?:ONLY\s+)?" + _NAME + r"(.*)$", re.I | re.S)
_CLUSTER = re.compile(r"^CLUSTER\s+(?:VERBOSE\s+)?" + _NAME, re.I)
_VACUUM_FULL = re.compile(
    r"^VACUUM\s*\(([^)]*\bFULL\b[^)]*)\)\s*"
    + _NAME
    + r"|^VACUUM\s+FULL\s+"
    + r"(?:VERBOSE\s+)?(?:ANALYZE\s+)?"
    + _NAME,
    re.I,
)
_REINDEX = re.compile(
    r"^REINDEX\s+(?:\([^)]*\)\s*)?(TABLE|INDEX)\s+(CONCURRENTLY\s+)?" + _NAME, re.I
)
_DROP_INDEX = re.compile(r"^DROP\s+INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?" + _NAME, re.I)
_INDEX_NAME = re.compile(
    r"\bINDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?" + _NAME + r"\s+ON\b", re.I
)
_REWRITE = re.compile(
    r"\bALTER\s+COLUMN\s+\S+\s+(?:SET\s+DATA\s+)?TYPE\b|\bSET\s+(?:UN)?LOGGED\b|"
    r"\bSET\s+ACCESS\s+METHOD\b|\bADD\s+(?:COLUMN\s+)?\S+\s+[^,]*\bDEFAULT\s+[^,]*\(",
    re.I,
)
_LESSER_ALTER = re.compile(  # ALTER TABLE forms that take less than ACCESS EXCLUSIVE
    r"\bVALIDATE\s+CONSTRAINT\b|\bSET\s+STATISTICS\b|\bCLUSTER\s+ON\b|\bSET\s+WITHOUT\s+CLUSTER\b"
    r"|\bADD\s+(?:CONSTRAINT\s+\S+\s+)?FOREIGN\s+KEY\b",
    re.I,
)
_BEGIN = re.compile(r"^(BEGIN|START\s+TRANSACTION)\b", re.I)
_END = re.compile(r"^(COMMIT|END|ROLLBACK|ABORT)\b", re.I)
_TIMEOUT = re.compile(
    r"^SET\s+(?:SESSION\s+|LOCAL\s+)?(lock_timeout|statement_timeout)\b|"
    r"set_config\s*\(\s*'(lock_timeout|statement_timeout)'",
    re.I,
)


@dataclass
class Statement:
    """One statement of the script: its text, line, and the lock it takes on which table."""

    number: int  # 1-based
    line: int
    sql: str
    comment: str = ""
    table: str | None = None  # unqualified, unquoted
    lock: str | None = None  # the lock taken on `table` (pg_locks mode name)
    rewrite: bool = False
    concurrent: bool = False
    index: str | None = None  # the index a CREATE INDEX builds
    in_block: bool = False

    @property
    def head(self) -> str:
        """The statement on one line, cut at 90 characters (for verdicts and tables)."""
        flat = " ".join(self.sql.split())
        return flat if len(flat) <= 90 else flat[:87] + "..."


@dataclass(frozen=True)
class Finding:
    level: str  # refuse | warn
    check: str  # concurrently-in-transaction | large-table | timeout | access-exclusive
    statement: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Script:
    path: Path
    statements: list[Statement] = field(default_factory=list)


def _bare(name: str) -> str:
    return name.split(".")[-1].strip('"')


def _classify(st: Statement) -> None:
    sql = st.sql.strip()
    st.concurrent = bool(re.search(r"\bCONCURRENTLY\b", sql, re.I))
    if re.match(r"^CREATE\s+(UNIQUE\s+)?INDEX\b", sql, re.I):
        on = _ON_TABLE.search(sql)
        st.table = _bare(on[1]) if on else None
        named = _INDEX_NAME.search(sql)
        st.index = _bare(named[1]) if named else None
        st.lock = SHARE_UPDATE_EXCLUSIVE if st.concurrent else SHARE
    elif m := _ALTER_TABLE.match(sql):
        st.table = _bare(m[1])
        if _LESSER_ALTER.search(sql):
            lesser = re.search(r"FOREIGN\s+KEY", sql, re.I)
            st.lock = SHARE_ROW_EXCLUSIVE if lesser else SHARE_UPDATE_EXCLUSIVE
        else:
            st.lock = ACCESS_EXCLUSIVE
        st.rewrite = bool(_REWRITE.search(sql))
    elif m := _TRUNCATE.match(sql):
        st.table, st.lock, st.rewrite = _bare(m[1]), ACCESS_EXCLUSIVE, True
    elif m := _LOCK.match(sql):
        mode = re.search(r"\bIN\s+([A-Z ]+?)\s+MODE\b", m[2], re.I)
        words = mode[1].title().replace(" ", "") if mode else "AccessExclusive"
        st.table, st.lock = _bare(m[1]), f"{words}Lock"
    elif (m := _CLUSTER.match(sql)) or (m := _VACUUM_FULL.match(sql)):
        names = [g for g in m.groups() if g and not re.search(r"\bFULL\b", g, re.I)]
        st.table = _bare(names[-1]) if names else None
        st.lock, st.rewrite = ACCESS_EXCLUSIVE, True
    elif m := _REINDEX.match(sql):
        st.concurrent = bool(m[2])
        if m[1].upper() == "TABLE":
            st.table = _bare(m[3])
        else:
            st.index = _bare(m[3])  # its table is looked up in the catalog
        st.lock = SHARE_UPDATE_EXCLUSIVE if st.concurrent else SHARE
    elif m := _DROP_INDEX.match(sql):
        st.index = _bare(m[2])
        st.lock = SHARE_UPDATE_EXCLUSIVE if m[1] else ACCESS_EXCLUSIVE


def read_script(path: Path) -> Script:
    """The script's statements with their line numbers and classified locks."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise VerifyError(f"--file {path}: cannot read ({exc.strerror})") from None
    script = Script(path)
    position, in_block = 0, False
    for number, (comment, sql) in enumerate(split_statements(text), start=1):
        found = text.find(sql, position)
        position = found + len(sql) if found >= 0 else position
        line = text.count("\n", 0, max(found, 0)) + 1
        st = Statement(number, line, sql, comment)
        if _BEGIN.match(sql.strip()):
            in_block = True
        elif _END.match(sql.strip()):
            in_block = False
        st.in_block = in_block
        _classify(st)
        script.statements.append(st)
    if not script.statements:
        raise VerifyError(f"--file {path}: no statements")
    return script


def refusals(script: Script) -> list[Finding]:
    """Statements PostgreSQL itself would refuse: CONCURRENTLY inside a transaction block."""
    out = []
    for st in script.statements:
        if st.concurrent and st.in_block:
            out.append(
                Finding(
                    "refuse",
                    "concurrently-in-transaction",
                    st.number,
                    f"--file {script.path}: statement {st.number} (line {st.line}) runs "
                    f"CONCURRENTLY inside a transaction block (BEGIN ... COMMIT); PostgreSQL "
                    f"refuses it (SQLSTATE 25001): remove the BEGIN/COMMIT around it",
                )
            )
    return out


def warnings(script: Script, rows: dict[str, int], written: set[str], large: int) -> list[Finding]:
    """Risks the live run measures: `rows` per table (estimates), `written`: the workload's
    tables, `large`: the row count from which a table counts as large."""
    out: list[Finding] = []
    timeouts: set[str] = set()
    for st in script.statements:
        if m := _TIMEOUT.search(st.sql.strip()):
            timeouts.add((m[1] or m[2]).lower())
            continue
        if st.lock is None or st.table is None:
            continue
        for setting in ("lock_timeout", "statement_timeout"):
            if setting not in timeouts and not any(f.message.endswith(setting) for f in out):
                out.append(
                    Finding(
                        "warn",
                        "timeout",
                        st.number,
                        f"statement {st.number} (line {st.line}) takes {st.lock} on {st.table} "
                        f"with no SET {setting}",
                    )
                )
        n = rows.get(st.table, 0)
        if n >= large and (st.rewrite or (st.index and st.lock == SHARE)):
            what = "rewrites" if st.rewrite else "builds an index without CONCURRENTLY on"
            out.append(
                Finding(
                    "warn",
                    "large-table",
                    st.number,
                    f"statement {st.number} (line {st.line}) {what} {st.table} "
                    f"(~{n:,} rows): writes wait for the whole of it",
                )
            )
        if st.lock == ACCESS_EXCLUSIVE and st.table in written:
            out.append(
                Finding(
                    "warn",
                    "access-exclusive",
                    st.number,
                    f"statement {st.number} (line {st.line}) takes ACCESS EXCLUSIVE on "
                    f"{st.table}, which the workload writes: every read and write of it queues",
                )
            )
    return out
