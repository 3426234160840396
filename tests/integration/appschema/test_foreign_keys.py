"""Foreign keys the contract has no column for, through the installed command on a real
PostgreSQL: NOT NULL keys load with a related row (an attachment's uploader is its message's
sender, a conversation's creator its owner or earliest member, any other a row picked from the
row's id), every key validated; a key the mapping cannot satisfy is refused by --plan in one line
before anything is written."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.paths import SYNTHGEN
from support.pg import query, run_sql

MakeSchema = Callable[..., tuple[str, Path]]


def _synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=600)


def _add_keys(dsn: str, schema: str) -> None:
    """NOT NULL foreign keys the contract does not model, as an app's migration adds them."""
    s = f'"{schema}"'
    run_sql(
        dsn,
        f'ALTER TABLE {s}."Attachment" ADD COLUMN "uploaderId" TEXT NOT NULL',
        f'ALTER TABLE {s}."Attachment" ADD CONSTRAINT "Attachment_uploaderId_fkey" FOREIGN KEY '
        f'("uploaderId") REFERENCES {s}."User"("id")',
        f'ALTER TABLE {s}."Conversation" ADD COLUMN "creatorId" TEXT NOT NULL',
        f'ALTER TABLE {s}."Conversation" ADD CONSTRAINT "Conversation_creatorId_fkey" FOREIGN '
        f'KEY ("creatorId") REFERENCES {s}."User"("id")',
        f'ALTER TABLE {s}."User" ADD COLUMN "homeId" TEXT NOT NULL',
        f'ALTER TABLE {s}."User" ADD CONSTRAINT "User_homeId_fkey" FOREIGN KEY ("homeId") '
        f'REFERENCES {s}."Conversation"("id") DEFERRABLE',
        f'ALTER TABLE {s}."MessageRead" ADD COLUMN "roomId" TEXT NOT NULL',
        f'ALTER TABLE {s}."MessageRead" ADD CONSTRAINT "MessageRead_roomId_fkey" FOREIGN KEY '
        f'("roomId") REFERENCES {s}."Conversation"("id")',
    )


def _fks(dsn: str, schema: str) -> dict[str, bool]:
    rows = query(
        dsn,
        "SELECT conname, convalidated FROM pg_constraint c JOIN pg_namespace n ON "
        f"n.oid = c.connamespace WHERE n.nspname = '{schema}' AND contype = 'f'",
    )
    return {str(name): bool(valid) for name, valid in rows}


def test_not_null_foreign_keys_load_with_related_rows(
    app_dataset: Path, pg_dsn: str, app_schema: MakeSchema, tmp_path: Path
) -> None:
    schema, mapping = app_schema("app_fk", tmp=tmp_path)
    _add_keys(pg_dsn, schema)
    common = [str(app_dataset), "--dsn", pg_dsn, "--mapping", str(mapping)]
    plan = _synthgen("load", *common, "--plan")
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    uploader = next(line for line in lines if "uploaderId" in line)
    assert "users: the row's messageId.senderId as cuid" in uploader
    assert "references User(id) through Attachment_uploaderId_fkey (automatic)" in uploader
    creator = next(line for line in lines if "creatorId" in line)
    assert "the conversation's the owner, else the earliest member" in creator
    home = next(line for line in lines if "homeId" in line)
    assert "conversations: a row chosen from the row's own id" in home
    room = next(line for line in lines if "roomId" in line)
    assert "conversations: the row's messageId.conversationId" in room

    # mapping init writes the same related-row fills into a starting mapping
    out = tmp_path / "init.json"
    made = _synthgen("mapping", "init", "--dsn", pg_dsn, "--schema", schema, "--out", str(out))
    assert made.returncode == 0, made.stderr
    tables = json.loads(out.read_text())["tables"]
    assert tables["attachments"]["fill"] == {
        "uploaderId": {"ref": "users", "through": "messageId.senderId"}
    }
    assert tables["conversations"]["fill"] == {"creatorId": {"ref": "users", "member": "owner"}}
    assert tables["users"]["fill"] == {"homeId": {"ref": "conversations"}}

    loaded = _synthgen("load", *common, "--jobs", "2", "--quiet")
    assert loaded.returncode == 0, loaded.stderr
    fks = _fks(pg_dsn, schema)
    assert len(fks) == 13 and all(fks.values()), fks
    s = f'"{schema}"'
    # the related-row rules, checked by joins
    mismatched = query(
        pg_dsn,
        f'SELECT count(*), count(*) FILTER (WHERE a."uploaderId" <> m."senderId") FROM '
        f'{s}."Attachment" a JOIN {s}."Message" m ON m.id = a."messageId"',
    )
    assert mismatched[0][0] > 100 and mismatched[0][1] == 0, mismatched
    rooms = query(
        pg_dsn,
        f'SELECT count(*), count(*) FILTER (WHERE r."roomId" <> m."conversationId") FROM '
        f'{s}."MessageRead" r JOIN {s}."Message" m ON m.id = r."messageId"',
    )
    assert rooms[0][0] > 100 and rooms[0][1] == 0, rooms
    # the creator: the conversation's earliest OWNER when it has one, else its earliest member
    creators = query(
        pg_dsn,
        f'SELECT count(*), count(*) FILTER (WHERE c."creatorId" IS DISTINCT FROM ('
        f'SELECT cm."userId" FROM {s}."ConversationMember" cm WHERE cm."conversationId" = c.id '
        'ORDER BY cm.role <> \'OWNER\', cm."joinedAt", cm."userId" LIMIT 1)) FROM '
        f'{s}."Conversation" c WHERE EXISTS (SELECT 1 FROM {s}."ConversationMember" x WHERE '
        'x."conversationId" = c.id)',
    )
    assert creators[0][0] > 10 and creators[0][1] == 0, creators
    # the hash rule spreads users over many conversations, deterministically
    spread = query(pg_dsn, f'SELECT count(DISTINCT "homeId"), count(*) FROM {s}."User"')
    assert spread[0][0] > spread[0][1] // 10, spread


def _unmapped_parent(mapping: dict[str, Any]) -> None:
    mapping["tables"]["messages"]["fill"].pop("idempotencyKey")


def test_plan_refuses_a_fill_that_would_break_a_foreign_key(
    app_dataset: Path, pg_dsn: str, app_schema: MakeSchema, tmp_path: Path
) -> None:
    schema, mapping = app_schema("app_fk_refused", tmp=tmp_path)
    s = f'"{schema}"'
    run_sql(
        pg_dsn,
        f'CREATE TABLE {s}."Workspace" (id TEXT PRIMARY KEY)',
        f'ALTER TABLE {s}."Message" ADD COLUMN "workspaceId" TEXT NOT NULL REFERENCES '
        f'{s}."Workspace"(id)',
    )
    common = [str(app_dataset), "--dsn", pg_dsn, "--mapping", str(mapping)]
    for args in (["--plan"], ["--quiet"]):
        refused = _synthgen("load", *common, *args)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1, refused.stderr
        assert "Message.workspaceId" in lines[0] and "Message_workspaceId_fkey" in lines[0]
        assert "Workspace(id)" in lines[0] and "does not load" in lines[0]
    # nothing written: no audit schema, no rows
    audit = query(pg_dsn, f"SELECT count(*) FROM pg_namespace WHERE nspname = 'synthgen_{schema}'")
    assert audit[0][0] == 0
    assert query(pg_dsn, f'SELECT count(*) FROM {s}."User"')[0][0] == 0

    # an explicit made-up text fill into a key column is refused the same way
    run_sql(pg_dsn, f'ALTER TABLE {s}."Message" DROP COLUMN "workspaceId"')
    run_sql(
        pg_dsn,
        f'ALTER TABLE {s}."Attachment" ADD COLUMN "uploaderId" TEXT NOT NULL REFERENCES '
        f'{s}."User"(id)',
    )
    text = mapping.read_text().replace('"fill": {"filename"', '"fill": {"uploaderId": '
                                       '{"unique": "u-"}, "filename"')  # fmt: skip
    mapping.write_text(text)
    refused = _synthgen("load", *common, "--plan")
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "tables.attachments.fill.uploaderId" in (
        refused.stderr
    ), refused.stderr
    assert "Attachment_uploaderId_fkey" in refused.stderr


def test_a_constraint_the_data_breaks_names_it_and_the_mapping_entry(
    app_dataset: Path, pg_dsn: str, app_schema: MakeSchema, tmp_path: Path
) -> None:
    """A unique index the data breaks (built after the rows) and a check it breaks (during the
    copy): one line each, naming the constraint and the entry, --replace not --resume, and the
    load not marked complete."""
    schema, mapping = app_schema("app_data_error", tmp=tmp_path)
    s = f'"{schema}"'
    run_sql(pg_dsn, f'CREATE UNIQUE INDEX "Attachment_mime_key" ON {s}."Attachment"("mimeType")')
    common = [str(app_dataset), "--dsn", pg_dsn, "--mapping", str(mapping), "--quiet"]
    failed = _synthgen("load", *common, "--jobs", "2")
    assert failed.returncode == 1, failed.stderr
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1, failed.stderr
    assert "the data breaks constraint 'Attachment_mime_key'" in lines[0]
    assert "(filled by Attachment.mimeType <- tables.attachments.columns.mimeType)" in lines[0]
    assert "--replace" in lines[0] and "--resume" not in lines[0]
    statuses = query(pg_dsn, f"SELECT status FROM synthgen_{schema}.synthgen_loads")
    assert statuses == [("failed",)]

    run_sql(pg_dsn, f"DROP SCHEMA {s} CASCADE", f'DROP SCHEMA "synthgen_{schema}" CASCADE')
    schema, mapping = app_schema("app_data_check", tmp=tmp_path)
    s = f'"{schema}"'
    run_sql(
        pg_dsn,
        f'ALTER TABLE {s}."Attachment" ADD CONSTRAINT "Attachment_small" CHECK '
        '("sizeBytes" < 1000)',
    )
    common = [str(app_dataset), "--dsn", pg_dsn, "--mapping", str(mapping), "--quiet"]
    failed = _synthgen("load", *common, "--jobs", "2")
    assert failed.returncode == 1, failed.stderr
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and "the data breaks constraint 'Attachment_small'" in lines[0]
    assert "--replace" in lines[0] and "--resume" not in lines[0]
    statuses = query(pg_dsn, f"SELECT status FROM synthgen_{schema}.synthgen_loads")
    assert statuses == [("failed",)]
