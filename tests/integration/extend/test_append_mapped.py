"""`synthgen load DELTA --append --mapping`: an extension into the prisma-chat example's own
tables (its keys, indexes and foreign keys in place): exact counts, every foreign key holding,
the churn under the application's names, a second append refused, a kill resumed, and a mapping
that cannot express a change refused naming its field."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from support.extend import expected_counts, synthgen, value
from support.paths import SYNTHGEN
from synthgen.appschema.migrate import run_migrations
from synthgen.postgres.connect import connect, execute

pytestmark = pytest.mark.postgres
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "prisma-chat"
SOURCES = {
    "User": "users",
    "Conversation": "conversations",
    "ConversationMember": "conversation_users",
    "Message": "messages",
    "Attachment": "attachments",
    "MessageRead": "read_receipts",
}


def app_schema(dsn: str, name: str, tmp: Path, *ddl: str, sent_column: str = "") -> Path:
    """The example's migrations in schema `name` (then `ddl`); the mapping pointed at it."""
    conn = connect(dsn, autocommit=True)
    try:
        for sql in (f'DROP SCHEMA IF EXISTS "{name}" CASCADE',
                    f'DROP SCHEMA IF EXISTS "synthgen_{name}" CASCADE'):  # fmt: skip
            execute(conn, sql)
        run_migrations(dsn, name, str(EXAMPLE / "schema.sql"))
        for sql in ddl:
            execute(conn, sql)
    finally:
        conn.close()
    mapping = json.loads((EXAMPLE / "mapping.json").read_text())
    mapping["schema"] = name
    if sent_column:  # a user's last sent message, kept by the application
        mapping["tables"]["users"]["fill"][sent_column] = {"last_message": "createdAt"}
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(mapping))
    return path


def load_base(dsn: str, base: Path, mapping: Path) -> None:
    done = synthgen("load", str(base), "--dsn", dsn, "--mapping", str(mapping), "--quiet",
                    "--jobs", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr


def app_counts(dsn: str, schema: str) -> dict[str, int]:
    tables = [*SOURCES, "MessageDelivery"]
    return {t: int(value(dsn, f'SELECT count(*) FROM {schema}."{t}"')) for t in tables}


def wanted(*roots: Path) -> dict[str, int]:
    contract = expected_counts(*roots)
    out = {app: contract[source] for app, source in SOURCES.items()}
    out["MessageDelivery"] = 2 * contract["read_receipts"]  # DELIVERED and READ per receipt
    return out


def orphans(dsn: str, schema: str) -> dict[str, int]:
    """Per foreign key of the schema, its rows pointing at no row (an anti-join each)."""
    conn = connect(dsn, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT c.conname, c.conrelid::regclass::text, a.attname, "
                "c.confrelid::regclass::text, b.attname FROM pg_constraint c "
                "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
                "JOIN pg_attribute b ON b.attrelid = c.confrelid AND b.attnum = c.confkey[1] "
                f"WHERE c.contype = 'f' AND c.connamespace = '{schema}'::regnamespace"
            )
            keys = cur.fetchall()
            out = {}
            for name, child, col, parent, ref in keys:
                cur.execute(
                    f'SELECT count(*) FROM {child} x WHERE x."{col}" IS NOT NULL AND NOT EXISTS '
                    f'(SELECT 1 FROM {parent} p WHERE p."{ref}" = x."{col}")'
                )
                out[name] = int(cur.fetchone()[0])
            return out
    finally:
        conn.close()


def append(dsn: str, delta: Path, mapping: Path) -> subprocess.CompletedProcess[str]:
    return synthgen("load", str(delta), "--append", "--mapping", str(mapping), "--dsn", dsn,
                    "--quiet")  # fmt: skip


def test_append_into_the_app_schema(chain: dict[str, Path], pg_dsn: str, tmp_path: Path) -> None:
    schema = "app_ext"
    mapping = app_schema(pg_dsn, schema, tmp_path)
    load_base(pg_dsn, chain["base"], mapping)
    early = append(pg_dsn, chain["ext2"], mapping)
    assert early.returncode == 1 and "append the extensions in order" in early.stderr
    assert len(early.stderr.strip().splitlines()) == 1
    guarded = synthgen("load", str(chain["ext1"]), "--append", "--mapping", str(mapping),
                       "--dsn", pg_dsn, "--deny-pattern", ".")  # fmt: skip
    assert guarded.returncode == 1 and "production guard (deny-pattern)" in guarded.stderr
    assert len(guarded.stderr.strip().splitlines()) == 1
    assert value(pg_dsn, f"SELECT count(*) FROM synthgen_{schema}.synthgen_loads") == 1
    done = append(pg_dsn, chain["ext1"], mapping)
    assert done.returncode == 0, done.stderr
    assert app_counts(pg_dsn, schema) == wanted(chain["base"], chain["ext1"])
    fks = orphans(pg_dsn, schema)
    assert len(fks) == 9 and set(fks.values()) == {0}, fks
    again = append(pg_dsn, chain["ext1"], mapping)
    assert again.returncode == 1 and "already holds" in again.stderr
    assert app_counts(pg_dsn, schema) == wanted(chain["base"], chain["ext1"])
    changes = f"'{chain['ext1']}/changes/*.parquet'"
    edited = duckdb.sql(f"""SELECT count(DISTINCT "messageId") FROM {changes} WHERE op = 'edit'
        AND "messageId" NOT IN (SELECT "messageId" FROM {changes}
                                WHERE op IN ('hard_delete', 'soft_delete'))""").fetchall()[0][0]
    assert edited > 20
    got = value(
        pg_dsn,
        f"""SELECT count(*) FROM {schema}."Message"
        WHERE "editedAt" IS NOT NULL AND "deletedAt" IS NULL AND content LIKE '% (edited)'""",
    )
    assert got == edited
    base_inactive = duckdb.sql(f"""SELECT count(*) FROM
        '{chain["base"]}/conversation_users/*.parquet' WHERE NOT "isActive" """).fetchall()[0][0]
    leaves = duckdb.sql(f"SELECT count(*) FROM {changes} WHERE op = 'leave'").fetchall()[0][0]
    assert leaves > 0
    left = value(
        pg_dsn,
        f"""SELECT count(*) FROM {schema}."ConversationMember"
        WHERE NOT "isActive" AND "joinedAt" < '2026-01-01'""",
    )
    assert left == base_inactive + leaves
    # new messages point at the base's rooms: the same cuids the base load wrote
    old_rooms = value(
        pg_dsn,
        f"""SELECT count(DISTINCT m."conversationId") FROM
        {schema}."Message" m JOIN {schema}."Conversation" c ON c.id = m."conversationId"
        WHERE m."createdAt" >= '2026-01-01' AND c."createdAt" < '2026-01-01'""",
    )
    assert old_rooms > 10
    # the rooms' last message moved with the new ones (lastMessageAt / lastMessageId)
    behind = value(
        pg_dsn,
        f"""SELECT count(*) FROM {schema}."Conversation" c
        JOIN (SELECT "conversationId", max("createdAt") AS latest FROM {schema}."Message"
              GROUP BY 1) m ON m."conversationId" = c.id
        WHERE c."lastMessageAt" IS NULL OR c."lastMessageAt" < m.latest""",
    )
    assert behind == 0
    moved = f"""FROM {schema}."Conversation" c WHERE c."createdAt" < '2026-01-01'
        AND c."lastMessageAt" >= '2026-01-01'"""
    found = f'SELECT 1 FROM {schema}."Message" m WHERE m.id = c."lastMessageId"'
    matched = value(
        pg_dsn,
        f"""SELECT count(*) {moved} AND EXISTS ({found}
        AND m."conversationId" = c.id AND m."createdAt" = c."lastMessageAt")""",
    )
    dangling = value(pg_dsn, f"SELECT count(*) {moved} AND NOT EXISTS ({found})")
    hard = duckdb.sql(f"SELECT count(*) FROM {changes} WHERE op = 'hard_delete'").fetchall()[0][0]
    assert matched > 10 and dangling <= hard
    assert value(pg_dsn, f"SELECT count(*) {moved}") == matched + dangling


def test_a_second_extension_chains(chain: dict[str, Path], pg_dsn: str, tmp_path: Path) -> None:
    schema = "app_chain"
    add = f'ALTER TABLE {schema}."User" ADD "lastSentAt" timestamp(3)'
    mapping = app_schema(pg_dsn, schema, tmp_path, add, sent_column="lastSentAt")
    load_base(pg_dsn, chain["base"], mapping)
    for name in ("ext1", "ext2"):
        done = append(pg_dsn, chain[name], mapping)
        assert done.returncode == 0, done.stderr
    assert app_counts(pg_dsn, schema) == wanted(chain["base"], chain["ext1"], chain["ext2"])
    fks = orphans(pg_dsn, schema)
    assert len(fks) == 9 and set(fks.values()) == {0}, fks
    # each user's last sent message moved with the new ones (never behind a message they sent)
    latest = f"""FROM {schema}."User" u JOIN (SELECT "senderId", max("createdAt") AS at
        FROM {schema}."Message" GROUP BY 1) m ON m."senderId" = u.id"""
    assert value(pg_dsn, f'SELECT count(*) {latest} WHERE u."lastSentAt" IS NULL '
                 'OR u."lastSentAt" < m.at') == 0  # fmt: skip
    assert value(pg_dsn, f"""SELECT count(*) {latest} WHERE u."lastSentAt" = m.at
                 AND m.at >= '2026-01-04'""") > 10  # fmt: skip


def test_a_counter_without_its_cursor_is_refused_before_writing(
    chain: dict[str, Path], pg_dsn: str, tmp_path: Path
) -> None:
    go_chat = EXAMPLE.parent / "go-chat"
    run_migrations(pg_dsn, "chat_ext", str(go_chat / "schema.sql"))
    mapping = json.loads((go_chat / "mapping.json").read_text())
    mapping["schema"] = "chat_ext"
    del mapping["tables"]["conversation_users"]["fill"]["lastviewedat"]
    path = tmp_path / "go-chat.json"
    path.write_text(json.dumps(mapping))
    refused = append(pg_dsn, chain["ext1"], path)
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "tables.conversation_users.fill.msgcount" in lines[0], lines
    made = value(pg_dsn, "SELECT count(*) FROM pg_namespace WHERE nspname = 'synthgen_chat_ext'")
    assert made == 0


def test_a_killed_mapped_append_resumes(
    chain: dict[str, Path], pg_dsn: str, tmp_path: Path
) -> None:
    schema = "app_kill"
    mapping = app_schema(pg_dsn, schema, tmp_path)
    load_base(pg_dsn, chain["base"], mapping)
    args = [str(SYNTHGEN), "load", str(chain["ext1"]), "--append", "--mapping", str(mapping),
            "--dsn", pg_dsn, "--days-per-minute", "6", "--quiet"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, recorded = time.monotonic() + 90, 0
    query = f"SELECT count(*) FROM synthgen_{schema}.synthgen_shards WHERE table_name = 'append'"
    while recorded < 1 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        recorded = int(value(pg_dsn, query))
    assert recorded == 1 and proc.poll() is None, "the append did not pause after its first day"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    resumed = append(pg_dsn, chain["ext1"], mapping)
    assert resumed.returncode == 0, resumed.stderr
    assert app_counts(pg_dsn, schema) == wanted(chain["base"], chain["ext1"])
    assert value(pg_dsn, query) == 3


def test_a_mapping_without_a_churn_column_is_refused(
    chain: dict[str, Path], pg_dsn: str, tmp_path: Path
) -> None:
    schema = "app_noleave"
    mapping = app_schema(
        pg_dsn, schema, tmp_path, f'ALTER TABLE {schema}."ConversationMember" DROP "isActive"'
    )
    load_base(pg_dsn, chain["base"], mapping)
    refused = append(pg_dsn, chain["ext1"], mapping)
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "tables.conversation_users.columns.isActive" in lines[0], lines
    assert value(pg_dsn, f"SELECT count(*) FROM synthgen_{schema}.synthgen_loads") == 1


def test_an_epoch_schema_with_counters(chain: dict[str, Path], pg_dsn: str, tmp_path: Path) -> None:
    """go-chat (text ids, times as epoch milliseconds, counters) with an isActive column added:
    the cursors and a room's last post in milliseconds, the counters recounted."""
    go_chat, schema = EXAMPLE.parent / "go-chat", "chat_epoch"
    conn = connect(pg_dsn, autocommit=True)
    try:
        execute(conn, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        run_migrations(pg_dsn, schema, str(go_chat / "schema.sql"))
        execute(conn, f'ALTER TABLE {schema}.channelmembers ADD "isActive" boolean '
                "NOT NULL DEFAULT true")  # fmt: skip
    finally:
        conn.close()
    mapping = json.loads((go_chat / "mapping.json").read_text())
    mapping["schema"] = schema
    path = tmp_path / "go-chat.json"
    path.write_text(json.dumps(mapping))
    load_base(pg_dsn, chain["base"], path)
    done = append(pg_dsn, chain["ext1"], path)
    assert done.returncode == 0, done.stderr
    counts = expected_counts(chain["base"], chain["ext1"])
    for table, source in (("users", "users"), ("channels", "conversations"),
                          ("channelmembers", "conversation_users"), ("posts", "messages"),
                          ("fileinfo", "attachments")):  # fmt: skip
        assert value(pg_dsn, f"SELECT count(*) FROM {schema}.{table}") == counts[source], table
    behind = value(
        pg_dsn,
        f"""SELECT count(*) FROM {schema}.channels c JOIN (SELECT channelid,
        max(createat) AS latest FROM {schema}.posts GROUP BY 1) p ON p.channelid = c.id
        WHERE c.lastpostat < p.latest""",
    )
    assert behind == 0
    seam_ms = 1767225600000  # 2026-01-01 in epoch milliseconds
    moved = value(
        pg_dsn,
        f"""SELECT count(*) FROM {schema}.channels c WHERE c.createat < {seam_ms}
        AND c.lastpostat >= {seam_ms} AND EXISTS (SELECT 1 FROM {schema}.posts p
        WHERE p.channelid = c.id AND p.createat = c.lastpostat)""",
    )
    assert moved > 10
    read_after = value(
        pg_dsn,
        f"""SELECT count(*) FROM {schema}.channelmembers
        WHERE lastviewedat >= {seam_ms + 86_400_000}""",
    )
    assert read_after > 10
    left = value(pg_dsn, f'SELECT count(*) FROM {schema}.channelmembers WHERE NOT "isActive"')
    assert left > 0
    miscounted = value(
        pg_dsn,
        f"""SELECT count(*) FROM {schema}.channels c
        WHERE c.totalmsgcount <> (SELECT count(*) FROM {schema}.posts p
                                  WHERE p.channelid = c.id)""",
    )
    assert miscounted == 0
    counted = f"""(SELECT count(*) FROM {schema}.posts p WHERE p.channelid = m.channelid
        AND p.createat <= m.lastviewedat)"""
    touched = f"FROM {schema}.channelmembers m WHERE m.lastviewedat >= {seam_ms}"
    assert value(pg_dsn, f"SELECT count(*) {touched} AND m.msgcount <> {counted}") == 0
    assert value(pg_dsn, f"SELECT count(*) {touched} AND m.msgcount > 0") > 10
