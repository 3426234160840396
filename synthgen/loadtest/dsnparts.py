"""The pieces of a libpq DSN (URI or key=value) that pgbench and PgBouncer need."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

_URI = re.compile(r"\s*postgres(?:ql)?://", re.IGNORECASE)
_KV_PAIR = re.compile(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")


def dsn_parts(dsn: str) -> dict[str, str]:
    """host, port, dbname, user, password (those the DSN names) as plain strings."""
    if not _URI.match(dsn):
        return {key: value.strip("'") for key, value in _KV_PAIR.findall(dsn)}
    parts = urlsplit(dsn.strip())
    found: dict[str, str] = {}
    if parts.hostname:
        found["host"] = unquote(parts.hostname)
    if parts.port:
        found["port"] = str(parts.port)
    if parts.path.strip("/"):
        found["dbname"] = unquote(parts.path.strip("/"))
    if parts.username:
        found["user"] = unquote(parts.username)
    if parts.password:
        found["password"] = unquote(parts.password)
    for item in parts.query.split("&"):
        key, sep, value = item.partition("=")
        if sep:
            found[key] = unquote(value)
    return found


def with_search_path(dsn: str, schema: str) -> str:
    """The DSN with `options=-csearch_path=<schema>` (the schema is a plain identifier)."""
    option = f"-csearch_path={schema}"
    if _URI.match(dsn):
        joiner = "&" if "?" in dsn else "?"
        return f"{dsn}{joiner}options={quote(option, safe='')}"
    return f"{dsn} options='{option}'"
