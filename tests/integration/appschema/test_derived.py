"""A derived table is a table: its columns the contract does not produce get the same automatic
fills (a NOT NULL updatedAt, a foreign key to a mapped table), explicit fills and checks as a
mapped table's; its states default to the status enum's SENT / DELIVERED / READ."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.paths import SYNTHGEN
from support.pg import query, run_sql

MakeSchema = Callable[..., tuple[str, Path]]


def _synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=600)


def _derived_edit(mapping: dict[str, Any]) -> None:
    spec = mapping["derived"]["deliveries"]
    spec.pop("states")  # the enum's own SENT, DELIVERED, READ
    spec["fill"] = {"channel": {"value": "D"}}


def test_a_derived_table_with_a_not_null_updated_at_loads(
    app_dataset: Path, pg_dsn: str, app_schema: MakeSchema, tmp_path: Path
) -> None:
    schema, mapping = app_schema("app_derived", _derived_edit, tmp=tmp_path)
    s = f'"{schema}"'
    run_sql(
        pg_dsn,
        f'ALTER TABLE {s}."MessageDelivery" ADD COLUMN "updatedAt" TIMESTAMP(3) NOT NULL',
        f'ALTER TABLE {s}."MessageDelivery" ADD COLUMN "channel" VARCHAR(1) NOT NULL',
        f'ALTER TABLE {s}."MessageDelivery" ADD COLUMN "conversationId" TEXT NOT NULL '
        f'REFERENCES {s}."Conversation"(id)',
    )
    common = [str(app_dataset), "--dsn", pg_dsn, "--mapping", str(mapping)]
    plan = _synthgen("load", *common, "--plan")
    assert plan.returncode == 0, plan.stderr
    assert f"{schema}.MessageDelivery  <-  read_receipts x 3 states" in plan.stdout
    assert "updatedAt (timestamp(3) without time zone) <- the state's time (automatic)" in (
        plan.stdout
    )
    assert "conversations: the row's messageId.conversationId as cuid" in plan.stdout

    loaded = _synthgen("load", *common, "--jobs", "2", "--quiet")
    assert loaded.returncode == 0, loaded.stderr
    reads = query(pg_dsn, f'SELECT count(*) FROM {s}."MessageRead"')[0][0]
    states = query(
        pg_dsn,
        f'SELECT status::text, count(*), count(*) FILTER (WHERE "updatedAt" <> "at"), '
        f"count(*) FILTER (WHERE channel <> 'D') FROM {s}.\"MessageDelivery\" GROUP BY 1 "
        "ORDER BY 1",
    )
    assert reads > 100
    assert states == [("DELIVERED", reads, 0, 0), ("READ", reads, 0, 0), ("SENT", reads, 0, 0)]
    wrong_room = query(
        pg_dsn,
        f'SELECT count(*) FROM {s}."MessageDelivery" d JOIN {s}."Message" m ON '
        'm.id = d."messageId" WHERE d."conversationId" <> m."conversationId"',
    )
    assert wrong_room[0][0] == 0
    # SENT at the message's time, as DELIVERED is (the default states)
    apart = query(
        pg_dsn,
        f'SELECT count(*), count(*) FILTER (WHERE s.at <> d.at) FROM {s}."MessageDelivery" s '
        f'JOIN {s}."MessageDelivery" d ON d."messageId" = s."messageId" AND '
        "d.\"userId\" = s.\"userId\" WHERE s.status = 'SENT' AND d.status = 'DELIVERED'",
    )
    assert apart[0] == (reads, 0)
