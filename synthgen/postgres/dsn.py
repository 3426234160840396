"""libpq connection strings (URI or key=value), the one place they are parsed.

The managed cluster's DSN; the pieces pgbench and PgBouncer need; the hosts the production
guard checks; and masking passwords (and, for the sampler's audit, hosts) out of messages.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote, unquote, urlsplit

HOST = "127.0.0.1"
SUPERUSER = "postgres"
DATABASE = "synthgen"

_URI_RE = re.compile(r"^(\s*postgres(?:ql)?://)(.*)$", re.IGNORECASE | re.DOTALL)
# scheme, netloc (user info and hosts), the rest (path, query, fragment)
_URI_NETLOC_RE = re.compile(r"^(\s*postgres(?:ql)?://)([^/?#]*)(.*)$", re.IGNORECASE | re.DOTALL)
_KV_PAIR = re.compile(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")
_QUERY_PASSWORD_RE = re.compile(r"([?&](?:ssl)?password=)[^&#]*", re.IGNORECASE)
_KV_PASSWORD_RE = re.compile(
    r"(\b(?:ssl)?password\s*=\s*)(?:'(?:[^'\\]|\\.)*'?|\S+)", re.IGNORECASE
)
_QUERY_HOST_RE = re.compile(r"([?&](?:host|hostaddr)=)[^&#]*", re.IGNORECASE)
_KV_HOST_RE = re.compile(r"(\b(?:host|hostaddr)\s*=\s*)(?:'(?:[^'\\]|\\.)*'?|\S+)", re.IGNORECASE)


def make_dsn(port: int, database: str = DATABASE) -> str:
    """The libpq URI of a managed cluster's database (trust auth, so no password)."""
    return f"postgresql://{SUPERUSER}@{HOST}:{port}/{database}"


def is_uri(dsn: str) -> bool:
    """A postgres:// or postgresql:// URI (else a key=value string)."""
    return _URI_RE.match(dsn) is not None


def _kv_pairs(dsn: str) -> dict[str, str]:
    return {key: value.strip("'") for key, value in _KV_PAIR.findall(dsn)}


def _uri_query(query: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in query.split("&") if "=" in p)


def dsn_parts(dsn: str) -> dict[str, str]:
    """host, port, dbname, user, password (those the DSN names) as plain strings."""
    if not is_uri(dsn):
        return _kv_pairs(dsn)
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


def dsn_hosts(dsn: str) -> list[str]:
    """Host names / addresses a libpq DSN (URI or key=value) names; $PGHOST when it names none."""
    hosts: list[str] = []
    if is_uri(dsn):
        parts = urlsplit(dsn.strip())
        netloc = parts.netloc.rsplit("@", 1)[-1]
        for item in netloc.split(","):
            host = item[1 : item.find("]")] if item.startswith("[") else item.split(":")[0]
            hosts.append(unquote(host))
        query = _uri_query(parts.query)
        hosts += [unquote(query[k]) for k in ("host", "hostaddr") if k in query]
    else:
        pairs = _kv_pairs(dsn)
        for key in ("host", "hostaddr"):
            hosts += pairs.get(key, "").split(",")
    hosts = [h for h in hosts if h]
    if not hosts and os.environ.get("PGHOST"):
        hosts = os.environ["PGHOST"].split(",")
    return hosts


def dsn_password(dsn: str) -> str | None:
    """The password a DSN holds (the URI's user info first, then password=), else None."""
    if is_uri(dsn):
        parts = urlsplit(dsn.strip())
        secret = parts.password or _uri_query(parts.query).get("password")
        return unquote(secret) if secret else None
    return _kv_pairs(dsn).get("password") or None


def with_search_path(dsn: str, schema: str) -> str:
    """The DSN with `options=-csearch_path=<schema>` (the schema is a plain identifier)."""
    option = f"-csearch_path={schema}"
    if is_uri(dsn):
        joiner = "&" if "?" in dsn else "?"
        return f"{dsn}{joiner}options={quote(option, safe='')}"
    return f"{dsn} options='{option}'"


def mask_dsn(dsn: str) -> str:
    """Replace the password in a libpq URI or ``key=value`` string with ``***`` (for messages).

    URIs: the ``user:password@`` part and ``password=`` / ``sslpassword=`` query parameters.
    key=value strings: ``password=`` and ``sslpassword=``, bare or single-quoted.
    """
    match = _URI_RE.match(dsn)
    if not match:
        return _KV_PASSWORD_RE.sub(r"\1***", dsn)
    scheme, rest = match.groups()
    cut = rest.find("?")
    head, query = (rest, "") if cut < 0 else (rest[:cut], rest[cut:])
    at = head.rfind("@")  # the last '@': an unescaped '@' inside a password stays hidden
    if at >= 0 and ":" in head[:at]:
        head = head[: head.index(":")] + ":***" + head[at:]
    return scheme + head + _QUERY_PASSWORD_RE.sub(r"\1***", query)


def mask_dsn_host(dsn: str) -> str:
    """The DSN with its password and its host(s) replaced by ***; user, port and database kept."""
    masked = mask_dsn(dsn)
    match = _URI_NETLOC_RE.match(masked)
    if not match:
        return _KV_HOST_RE.sub(r"\1***", masked)
    scheme, netloc, rest = match.groups()
    userinfo, at, hosts = netloc.rpartition("@")
    if hosts:
        parts = []
        for host in hosts.split(","):
            port = re.search(r":(\d+)$", host)
            parts.append("***" + (f":{port.group(1)}" if port else ""))
        hosts = ",".join(parts)
    return scheme + userinfo + at + hosts + _QUERY_HOST_RE.sub(r"\1***", rest)
