"""Connection strings for the managed cluster, and masking passwords out of any libpq DSN."""

from __future__ import annotations

import re

HOST = "127.0.0.1"
SUPERUSER = "postgres"
DATABASE = "synthgen"

_URI_RE = re.compile(r"^(\s*postgres(?:ql)?://)(.*)$", re.IGNORECASE | re.DOTALL)
_QUERY_PASSWORD_RE = re.compile(r"([?&](?:ssl)?password=)[^&#]*", re.IGNORECASE)
_KV_PASSWORD_RE = re.compile(
    r"(\b(?:ssl)?password\s*=\s*)(?:'(?:[^'\\]|\\.)*'?|\S+)", re.IGNORECASE
)


def make_dsn(port: int, database: str = DATABASE) -> str:
    """The libpq URI of a managed cluster's database (trust auth, so no password)."""
    return f"postgresql://{SUPERUSER}@{HOST}:{port}/{database}"


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
