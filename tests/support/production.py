"""The production-like PostgreSQL database of the sampler's tests: the SQL that builds it
(production.sql, beside this module), the shape it is built with (TRUTH), its mapping, and the
harness's own reads of it (the sampler never runs this code)."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pyarrow as pa
from adbc_driver_postgresql import dbapi

HERE = Path(__file__).resolve().parent
SCHEMA = "app"
SALT = "e2e-test-salt-0123456789abcdef"

# Made-up but ordinary-looking people data: common first and last names, invented domains.
FIRST_NAMES = (
    "Maria", "James", "Wei", "Fatima", "Olga", "Carlos", "Aisha", "Liam", "Sofia", "Noah",
    "Emma", "Lucas", "Yuki", "Amir", "Elena", "David", "Priya", "Mateo", "Hannah", "Omar",
)  # fmt: skip
LAST_NAMES = (
    "Garcia", "Smith", "Chen", "Khan", "Novak", "Johnson", "Silva", "Brown", "Kowalski",
    "Nguyen", "Rossi", "Jensen", "Okafor", "Tanaka", "Dubois", "Petrov", "Murphy", "Haddad",
)  # fmt: skip
DOMAINS = ("northwind-mail.com", "bluepost-mail.net", "harbor-inbox.com", "quickletter.net")
CARDS = (  # the payment networks' published test numbers (Luhn-valid, never real accounts)
    "4111 1111 1111 1111",
    "5555 5555 5555 4444",
    "4012 8888 8888 1881",
    "3782 822463 10005",
    "6011 1111 1111 1117",
)
FILLERS = (
    "Thanks so much! ",
    "Running late, sorry. ",
    "Did you see the game? ",
    "Let me check tomorrow. ",
)
# An evening-only peak: 19-21 UTC at the top, 18 and 22 on the shoulders.
HOUR_WEIGHTS = (
    1.0, 0.7, 0.5, 0.4, 0.4, 0.5, 0.7, 0.9, 1.0, 1.0, 1.0, 1.0,
    1.1, 1.0, 1.0, 1.0, 1.2, 2.0, 4.5, 6.0, 6.5, 6.0, 4.0, 2.0,
)  # fmt: skip
MEDIA_KIND_SHARES = {"IMAGE": 0.25, "VIDEO": 0.07, "DOCUMENT": 0.05, "AUDIO": 0.03}
DELAY_SHARES = (0.20, 0.30, 0.35, 0.15)

TRUTH: dict[str, Any] = {
    "users": 500,
    "n_direct": 200,
    "n_small": 500,
    "n_large": 300,
    "n_heavy": 50,
    "heavy_min": 3000,
    "n_archived": 30,
    "target_messages": 333_333,
    "small_p": 0.35,
    "large_alpha": 2.2,
    "regular_alpha": 1.6,
    "heavy_alpha": 2.5,
    "burst_cv": 3.0,
    "in_burst_gap": 25.0,
    "weekend_keep": 0.6,
    "len_mu": 3.8,
    "len_sigma": 0.9,
    "caption_share": 0.3,
    "caption_mu": 2.8,
    "caption_sigma": 0.5,
    "size_mu": (13.0, 16.5, 12.0, 11.5),
    "size_sigma": (0.7, 1.0, 1.2, 0.6),
    "read_rate": 0.7,
    "near_scale": 870.0,
    "delayed_mu": 10.0,
    "delayed_sigma": 0.8,
    "admin_share": 0.12,
    "inactive_share": 0.08,
    "new_user_share": 0.3,
    "self_read_share": 0.05,
}


def _sql_list(values: tuple[Any, ...]) -> str:
    return ", ".join(
        "'" + v.replace("'", "''") + "'" if isinstance(v, str) else repr(v) for v in values
    )


def _cdf(weights: tuple[float, ...] | list[float]) -> str:
    cum = np.cumsum(weights)[:-1] / np.sum(weights)
    return ", ".join(f"{c:.6f}" for c in cum)


def production_sql(schema: str, t0: datetime, seed: float = 0.42) -> list[str]:
    """The statements that build the production database (placeholders filled)."""
    t = TRUTH
    media = 1.0 - sum(MEDIA_KIND_SHARES.values())
    values: dict[str, Any] = {
        **{k: v for k, v in t.items() if not isinstance(v, tuple)},
        "schema": schema,
        "seed": seed,
        "t0": f"TIMESTAMPTZ '{t0:%Y-%m-%d %H:%M:%S}+00'",
        "n_active": t["n_direct"] + t["n_small"] + t["n_large"],
        "first_names": _sql_list(FIRST_NAMES),
        "last_names": _sql_list(LAST_NAMES),
        "domains": _sql_list(DOMAINS),
        "cards": _sql_list(CARDS),
        "fillers": _sql_list(FILLERS),
        "n_first": len(FIRST_NAMES),
        "n_last": len(LAST_NAMES),
        "n_domains": len(DOMAINS),
        "n_cards": len(CARDS),
        "n_fillers": len(FILLERS),
        "hour_cdf": _cdf(HOUR_WEIGHTS),
        "type_cdf": _cdf([media, *MEDIA_KIND_SHARES.values()]),
        "delay_cdf": _cdf(DELAY_SHARES),
        "burst_q": 2.0 / (t["burst_cv"] ** 2 + 1.0),
        "size_mu": _sql_list(t["size_mu"]),
        "size_sigma": _sql_list(t["size_sigma"]),
    }
    text = string.Template((HERE / "production.sql").read_text()).substitute(values)
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in re.split(r";\s*\n", body) if s.strip()]


def with_database(dsn: str, database: str, user: str | None = None) -> str:
    """The same server's DSN for another database (and optionally another user)."""
    if re.match(r"\s*postgres(?:ql)?://", dsn, re.IGNORECASE):
        parts = urlsplit(dsn.strip())
        netloc = parts.netloc
        if user is not None:
            netloc = user + "@" + netloc.rsplit("@", 1)[-1]
        return urlunsplit((parts.scheme, netloc, "/" + database, parts.query, parts.fragment))
    kv = re.sub(r"\bdbname\s*=\s*\S+", "", dsn)
    if user is not None:
        kv = re.sub(r"\buser\s*=\s*\S+", "", kv) + f" user={user}"
    return f"{kv} dbname={database}".strip()


def execute(dsn: str, statements: list[str], autocommit: bool = False) -> None:
    """Run statements in one transaction (or each on its own with autocommit)."""
    with dbapi.connect(dsn, autocommit=autocommit) as conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
        if not autocommit:
            conn.commit()


def query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with dbapi.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


@dataclass(frozen=True)
class Production:
    """The production-like database: how to reach it, its names, and the shape it was built with."""

    admin_dsn: str  # superuser on the production database (the test harness only)
    reader_dsn: str  # a role with SELECT on the production tables and nothing else
    reader_role: str
    schema: str
    mapping_path: Path
    t0: datetime


MAPPING: dict[str, Any] = {
    "schema": SCHEMA,
    "tables": {
        "users": {"name": "accounts", "columns": {"createdAt": "created_at"}},
        "conversations": {"name": "chats", "columns": {"type": "kind", "createdAt": "created_at"}},
        "conversation_users": {
            "name": "chat_members",
            "columns": {
                "conversationId": "chat_id",
                "userId": "account_id",
                "role": "member_role",
                "isActive": "active",
            },
        },
        "messages": {
            "name": "posts",
            "columns": {
                "conversationId": "chat_id",
                "senderId": "author_id",
                "type": "post_type",
                "content": "body",
                "createdAt": "created_at",
            },
        },
        "attachments": {
            "name": "post_files",
            "columns": {
                "messageId": "post_id",
                "kind": "file_kind",
                "mimeType": "content_type",
                "sizeBytes": "byte_size",
            },
        },
        "read_receipts": {
            "name": "post_reads",
            "columns": {"messageId": "post_id", "userId": "reader_id", "readAt": "read_at"},
        },
    },
    "values": {
        "conversations.type": {"DIRECT": "dm", "GROUP": "group"},
        "conversation_users.role": {"OWNER": "owner", "ADMIN": "admin", "MEMBER": "member"},
        "messages.type": {
            "TEXT": "text",
            "IMAGE": "image",
            "VIDEO": "video",
            "DOCUMENT": "file",
            "AUDIO": "voice",
        },
        "attachments.kind": {
            "IMAGE": "image",
            "VIDEO": "video",
            "DOCUMENT": "file",
            "AUDIO": "voice",
        },
    },
}


def table_fingerprint(dsn: str) -> list[tuple[Any, ...]]:
    """Row count and a content hash of every production table: equal before and after means
    nothing was written."""
    tables = ("accounts", "chats", "chat_members", "posts", "post_files", "post_reads")
    sql = " UNION ALL ".join(
        f"SELECT '{t}', count(*), coalesce(sum(hashtextextended(x::text, 0)), 0)::text "
        f"FROM {SCHEMA}.{t} AS x"
        for t in tables
    )
    return sorted(query(dsn, sql))  # UNION ALL branches may come back in any order


@dataclass(frozen=True)
class Sampled:
    """One run of `synthgen sample` against production, as the SELECT-only role."""

    metrics_path: Path
    audit_path: Path
    stdout: str
    tables_before: list[tuple[Any, ...]]
    tables_after: list[tuple[Any, ...]]


@dataclass(frozen=True)
class ProductionStrings:
    """Every personal-looking string production holds (read by the test harness, never the
    sampler): the privacy assertions look for each of them in every output."""

    emails: list[str]
    full_names: list[str]
    phones: list[str]
    titles: list[str]
    bodies: pa.Table  # one column "body": every distinct message text
    names: list[str]  # the first and last names production's people are made of
    domains: list[str]
    other: list[str]  # card numbers, production-only MIME types, table and type names

    def needles(self) -> list[str]:
        """Strings that must never appear in an output file."""
        return [
            *self.emails, *self.full_names, *self.phones, *self.titles, *self.names,
            *self.domains, *self.other,
        ]  # fmt: skip
