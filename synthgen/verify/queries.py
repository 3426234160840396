"""Hot-path query files: one SQL file per query, parameters as $1..., a header describing them.

    -- name: Q1 message history
    -- purpose: the latest 50 messages of a conversation, newest first.
    -- param $1 bigint conversation: conversationId of a sampled room

A parameter's kind says how it is sampled (`conversation`, `conversation_cursor`, `user`,
`member_user`, `member_conversation`, `timestamp`), its type how it is bound; kinds pair on three
axes (room, user, time). Pairings that cannot mean what they say, and unknown types, are refused
when the file is parsed. docs/design.md ("Query files") describes the kinds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from synthgen.errors import VerifyError
from synthgen.shipped import DEFAULT_QUERIES_DIR
from synthgen.verify.production import todo_lines

DEFAULT_QUERIES = DEFAULT_QUERIES_DIR
PARAM_KINDS = (
    "conversation",
    "conversation_cursor",
    "user",
    "member_user",
    "member_conversation",
    "timestamp",
)
PARAM_TYPES = ("bigint", "timestamptz", "text", "uuid", "timestamp")
# a timestamp is a time, or a time in epoch units compared with an integer time column
TIMESTAMP_TYPES = ("timestamptz", "timestamp", "bigint")
_PARAM = re.compile(r"^--\s*param\s+\$(\d+)\s+(\w+)\s+(\w+)\s*:?(.*)$")
_FIELD = re.compile(r"^--\s*(name|purpose)\s*:\s*(.+)$")
# which class axis a kind draws from: a room class, a user class or a time class
AXIS = {
    "conversation": "conversation",
    "conversation_cursor": "conversation",
    "user": "user",
    "member_user": "user",
    "member_conversation": "user",
    "timestamp": "timestamp",
}
ALLOWED = (
    "allowed: each kind once; conversation [+ conversation_cursor] for a room, user or "
    "member_user [+ member_conversation] for a user, and a room with a user (every pair of "
    "their classes), and a timestamp with any of them (every combination of classes)"
)


@dataclass(frozen=True)
class Param:
    position: int
    type: str
    kind: str


@dataclass(frozen=True)
class Query:
    key: str  # e.g. "q1" from the file name q1_message_history.sql
    name: str
    purpose: str
    sql: str
    params: tuple[Param, ...]
    path: str

    @property
    def axes(self) -> tuple[str, ...]:
        """The class axes this query runs over ('user', 'conversation', 'timestamp'), in the
        order of its parameters; a query without parameters runs once per room class."""
        seen = dict.fromkeys(AXIS[p.kind] for p in self.params)
        return tuple(seen) or ("conversation",)

    @property
    def subject(self) -> str:
        """The first class axis ('conversation', 'user' or 'timestamp')."""
        return self.axes[0]


def _pairing_problem(params: list[tuple[Param, int]]) -> tuple[int, str] | None:
    """(line, problem) for a set of parameter kinds that cannot be drawn as declared."""
    first: dict[str, tuple[Param, int]] = {}
    for param, line in params:
        if param.kind in first:
            other = first[param.kind][0]
            return line, (
                f"parameter ${param.position} is a second {param.kind} (${other.position} is "
                f"one; both would get the same value: use ${other.position} twice)"
            )
        first[param.kind] = (param, line)

    def problem(kind: str, text: str) -> tuple[int, str]:
        param, line = first[kind]
        return line, f"parameter ${param.position} {kind} {text}"

    if "conversation_cursor" in first and "conversation" not in first:
        return problem("conversation_cursor", "needs a conversation parameter (its room)")
    if "user" in first and "member_user" in first:
        return problem("member_user", "and user would be the same user: declare one")
    if "member_conversation" in first and "conversation" in first:
        later = max(("member_conversation", "conversation"), key=lambda k: first[k][1])
        return problem(later, "pairs two rooms (a sampled room and the member's own room)")
    if "member_conversation" in first and not {"user", "member_user"} & set(first):
        return problem("member_conversation", "needs the member_user whose room it is")
    return None


def parse_query(path: Path) -> Query:
    """Read one query file; errors name the file and the line at fault."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise VerifyError(f"{path}: cannot read ({exc.strerror})") from None
    fields: dict[str, str] = {}
    params: list[Param] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if match := _PARAM.match(stripped):
            position, type_, kind = int(match[1]), match[2].lower(), match[3]
            if type_ not in PARAM_TYPES:
                raise VerifyError(
                    f"{path}:{number}: parameter ${position} type {type_!r} is not "
                    f"one of {', '.join(PARAM_TYPES)}"
                )
            if kind not in PARAM_KINDS:
                raise VerifyError(
                    f"{path}:{number}: parameter ${position} kind {kind!r} is not "
                    f"one of {', '.join(PARAM_KINDS)}"
                )
            if kind == "timestamp" and type_ not in TIMESTAMP_TYPES:
                raise VerifyError(
                    f"{path}:{number}: parameter ${position} timestamp cannot be {type_} (a time "
                    f"is {', '.join(TIMESTAMP_TYPES[:2])}, or bigint for epoch units)"
                )
            params.append(Param(position, type_, kind))
            lines.append(number)
        elif match := _FIELD.match(stripped):
            fields[match[1]] = match[2].strip()
    body = "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith("--")).strip()
    body = body.rstrip(";").strip()
    if not body:
        raise VerifyError(f"{path}: no SQL statement")
    if ";" in body:
        raise VerifyError(f"{path}: holds more than one statement (one query per file)")
    pairing = _pairing_problem(list(zip(params, lines, strict=True)))
    if pairing:
        raise VerifyError(f"{path}:{pairing[0]}: {pairing[1]}; {ALLOWED}")
    used = sorted({int(n) for n in re.findall(r"\$(\d+)", body)})
    declared = sorted(p.position for p in params)
    if used != declared:
        raise VerifyError(
            f"{path}: the SQL uses parameters {used} but the header declares {declared}"
        )
    key = path.stem.split("_", 1)[0].lower()
    return Query(
        key,
        fields.get("name", path.stem),
        fields.get("purpose", ""),
        body,
        tuple(sorted(params, key=lambda p: p.position)),
        str(path),
    )


def load_queries(directory: Path | None = None) -> list[Query]:
    """All *.sql files of a directory (default specs/queries), in file-name order; files with a
    `-- todo:` line (captured, a parameter not inferred) are left out (see skipped_queries)."""
    folder = directory or DEFAULT_QUERIES
    if not folder.is_dir():
        raise VerifyError(f"--queries {folder}: not a directory")
    files = sorted(folder.glob("*.sql"))
    if not files:
        raise VerifyError(f"--queries {folder}: no .sql files")
    files = [f for f in files if not todo_lines(f)]  # a captured file not yet edited
    if not files:
        raise VerifyError(f"--queries {folder}: every .sql file has a -- todo: line; edit them")
    queries = [parse_query(f) for f in files]
    keys = [q.key for q in queries]
    if len(set(keys)) != len(keys):
        raise VerifyError(f"--queries {folder}: two files share a key prefix ({keys})")
    return queries


def split_statements(script: str) -> list[tuple[str, str]]:
    """Split an SQL script into (leading comment, statement) pairs on semicolons outside quotes
    and comments. Enough for our index scripts (no dollar-quoted bodies)."""
    out: list[tuple[str, str]] = []
    comment: list[str] = []
    current: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(script):
        ch = script[i]
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            current.append(ch)
        elif script.startswith("--", i):
            end = script.find("\n", i)
            end = len(script) if end < 0 else end
            if not "".join(current).strip():
                comment.append(script[i + 2 : end].strip())
            i = end
            continue
        elif ch == ";":
            statement = "".join(current).strip()
            if statement:
                out.append(("\n".join(comment).strip(), statement))
            comment, current = [], []
        else:
            current.append(ch)
        i += 1
    tail = "".join(current).strip()
    if tail:
        out.append(("\n".join(comment).strip(), tail))
    return out


def skipped_queries(directory: Path | None = None) -> list[tuple[Path, str]]:
    """(file, its first `-- todo:` line) of the query files load_queries leaves out."""
    folder = directory or DEFAULT_QUERIES
    found = [(f, todo_lines(f)) for f in sorted(folder.glob("*.sql"))] if folder.is_dir() else []
    return [(f, todo[0]) for f, todo in found if todo]
