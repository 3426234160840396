"""`synthgen extend`: a base continued by 3 days, then 2 more, judged with DuckDB over the files."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support.extend import CHURN, ok, synthgen

Sql = Callable[[str], list[tuple[Any, ...]]]
SEAM = datetime(2026, 1, 1, tzinfo=UTC)  # the default spec's snapshot
END1 = datetime(2026, 1, 4, tzinfo=UTC)
END2 = datetime(2026, 1, 6, tzinfo=UTC)
Z = 4.0  # binomial tolerance: 4 standard deviations


def within_binomial(count: int, trials: int, p: float) -> bool:
    expected = trials * p
    return abs(count - expected) <= Z * math.sqrt(trials * p * (1 - p)) + 1


def one(sql: Sql, query: str) -> Any:
    return sql(query)[0][0]


def test_every_time_is_inside_its_extension(sql: Sql) -> None:
    checks = {
        "messages": '"createdAt"',
        "users": '"createdAt"',
        "conversations": '"createdAt"',
        "conversation_users": '"joinedAt"',
        "read_receipts": '"readAt"',
        "changes": '"changedAt"',
    }
    for table, column in checks.items():
        low1, high1 = sql(f"SELECT min({column}), max({column}) FROM ext1_{table}")[0]
        if low1 is None:  # about 0.3 sign-ups a day at this scale: three days may have none
            assert table == "users"
            continue
        assert low1 >= SEAM and high1 < END1, table
        low2, high2 = sql(f"SELECT min({column}), max({column}) FROM ext2_{table}")[0]
        if low2 is not None:
            assert low2 >= END1 and high2 < END2, table


def test_ids_continue_each_table_in_arrival_order(sql: Sql) -> None:
    for table in ("messages", "attachments", "users", "conversations"):
        base_max = one(sql, f"SELECT max(id) FROM base_{table}")
        low, high, n = sql(
            f"SELECT min(id), max(id), count(*) FROM all_{table} WHERE id > {base_max}"
        )[0]
        assert n > 0 or table == "users", table
        if n:
            assert (low, high) == (base_max + 1, base_max + n), table
    low, n = sql("SELECT min(id), count(*) FROM ext2_messages")[0]
    assert low == one(sql, "SELECT max(id) FROM ext1_messages") + 1 and n > 0
    # message ids follow createdAt across the day shards (arrival order)
    assert (
        one(
            sql,
            """SELECT count(*) FROM (SELECT "createdAt" - lag("createdAt") OVER
        (ORDER BY id) AS step FROM ext1_messages) WHERE step < INTERVAL '-1 minute'""",
        )
        == 0
    )


def test_per_room_created_at_strictly_rises_across_the_seam(sql: Sql) -> None:
    falls = one(
        sql,
        """SELECT count(*) FROM (SELECT "createdAt", lag("createdAt") OVER
        (PARTITION BY "conversationId" ORDER BY id) AS before FROM all_messages)
        WHERE before >= "createdAt" """,
    )
    assert falls == 0
    crossing = one(
        sql,
        """SELECT count(DISTINCT b."conversationId") FROM base_messages b
        JOIN ext1_messages e USING ("conversationId")""",
    )
    assert crossing > 20  # rooms do keep talking across the seam


def test_heavy_rooms_stay_heavy(sql: Sql) -> None:
    """The base's top tenth of rooms by messages sends most of the extension's messages too."""
    share = one(
        sql,
        """WITH top AS (SELECT "conversationId" FROM base_messages
        GROUP BY 1 ORDER BY count(*) DESC LIMIT (SELECT count(*) / 10 FROM base_conversations))
        SELECT avg(("conversationId" IN (SELECT * FROM top))::int) FROM ext1_messages""",
    )
    base_share = one(
        sql,
        """WITH top AS (SELECT "conversationId" FROM base_messages
        GROUP BY 1 ORDER BY count(*) DESC LIMIT (SELECT count(*) / 10 FROM base_conversations))
        SELECT avg(("conversationId" IN (SELECT * FROM top))::int) FROM base_messages
        WHERE "createdAt" >= TIMESTAMPTZ '2025-12-25'""",
    )
    assert share > 0.5 and abs(share - base_share) < 0.15


def test_daily_counts_continue_the_last_week(sql: Sql) -> None:
    """Each extension day within 30 % of the base's last week's mean day (the weekday curve is
    within 1.4x, the new rooms add a little)."""
    week = one(
        sql,
        """SELECT count(*) / 7.0 FROM base_messages
        WHERE "createdAt" >= TIMESTAMPTZ '2025-12-25'""",
    )
    days = sql("""SELECT date_trunc('day', "createdAt"), count(*) FROM all_messages
        WHERE "createdAt" >= TIMESTAMPTZ '2026-01-01' GROUP BY 1 ORDER BY 1""")
    assert len(days) == 5
    for _, count in days:
        assert 0.7 * week <= count <= 1.3 * week, (count, week)


def test_churn_counts_as_configured(sql: Sql) -> None:
    ops = dict(sql("SELECT op, count(*) FROM ext1_changes GROUP BY 1"))
    messages = one(sql, "SELECT count(*) FROM ext1_messages")
    texts = one(sql, "SELECT count(*) FROM ext1_messages WHERE type = 'TEXT'")
    assert within_binomial(ops["hard_delete"], messages, CHURN["hard_delete_rate"])
    assert within_binomial(ops["soft_delete"], messages, CHURN["soft_delete_rate"])
    # an edit falls on a TEXT message; a few are lost to a delete before them or the end
    assert within_binomial(ops["edit"], texts, CHURN["edit_rate"] * 0.97)
    eligible = one(
        sql,
        """SELECT count(*) FROM base_conversation_users m
        JOIN base_conversations c ON c.id = m."conversationId"
        WHERE c.type = 'GROUP' AND m."isActive" AND m.role <> 'OWNER'""",
    )
    left_p = 1 - (1 - CHURN["leave_rate"]) ** 3
    assert within_binomial(ops["leave"], eligible, left_p)


def test_integrity_after_churn(sql: Sql) -> None:
    """No read of a hard-deleted message at or after its delete; no read or message by a member
    after they left; every foreign key of the chain resolves."""
    problems = {
        "read after hard delete": """SELECT count(*) FROM all_read_receipts r
            JOIN all_changes c ON c.op = 'hard_delete' AND c."messageId" = r."messageId"
            AND r."readAt" >= c."changedAt" """,
        "read after leaving": """SELECT count(*) FROM all_read_receipts r
            JOIN all_messages m ON m.id = r."messageId" JOIN all_changes c ON c.op = 'leave'
            AND c."conversationId" = m."conversationId" AND c."userId" = r."userId"
            AND r."readAt" >= c."changedAt" """,
        "sent after leaving": """SELECT count(*) FROM all_messages m
            JOIN all_changes c ON c.op = 'leave' AND c."conversationId" = m."conversationId"
            AND c."userId" = m."senderId" AND m."createdAt" >= c."changedAt" """,
        "sender": """SELECT count(*) FROM all_messages WHERE "senderId" NOT IN
            (SELECT id FROM all_users)""",
        "room": """SELECT count(*) FROM all_messages WHERE "conversationId" NOT IN
            (SELECT id FROM all_conversations)""",
        "non-member sender": """SELECT count(*) FROM ext1_messages m ANTI JOIN
            all_conversation_users u ON u."conversationId" = m."conversationId"
            AND u."userId" = m."senderId" """,
        "attachment": """SELECT count(*) FROM all_attachments WHERE "messageId" NOT IN
            (SELECT id FROM all_messages)""",
        "receipt": """SELECT count(*) FROM all_read_receipts WHERE "messageId" NOT IN
            (SELECT id FROM all_messages)""",
        "member": """SELECT count(*) FROM all_conversation_users WHERE "userId" NOT IN
            (SELECT id FROM all_users)""",
        "duplicate member": """SELECT count(*) - count(DISTINCT ("conversationId", "userId"))
            FROM all_conversation_users""",
    }
    for what, query in problems.items():
        assert one(sql, query) == 0, what
    assert one(sql, "SELECT count(*) FROM all_changes WHERE op = 'leave'") > 0


def test_cursors_move_forward(sql: Sql) -> None:
    moved = one(
        sql,
        """SELECT count(*) FROM ext1_changes c JOIN base_conversation_users m
        ON m."conversationId" = c."conversationId" AND m."userId" = c."userId"
        WHERE c.op = 'read_cursor'""",
    )
    backwards = one(
        sql,
        """SELECT count(*) FROM ext1_changes c JOIN base_conversation_users m
        ON m."conversationId" = c."conversationId" AND m."userId" = c."userId"
        WHERE c.op = 'read_cursor' AND c."changedAt" <= m."lastReadAt" """,
    )
    assert moved > 100 and backwards == 0
    seen = sql("""SELECT count(*), min("changedAt") FROM ext1_changes WHERE op = 'seen'""")[0]
    assert seen[0] > 50 and seen[1] >= SEAM


def test_chain_manifest_and_byte_identical_rebuild(chain: dict[str, Path], tmp_path: Path) -> None:
    base, ext1, ext2 = (
        json.loads((chain[n] / "manifest.json").read_text()) for n in ("base", "ext1", "ext2")
    )
    assert ext2["extension"]["number"] == 2 and ext2["extension"]["days"] == 2
    assert ext2["extension"]["base_dataset_sha256"] == base["dataset_sha256"]
    assert ext2["extension"]["parent_dataset_sha256"] == ext1["dataset_sha256"]
    again = tmp_path / "again"
    ok("extend", str(chain["base"]), "--days", "3", "--out", str(again))
    assert json.loads((again / "manifest.json").read_text())["files"] == ext1["files"]
    rebuilt = tmp_path / "rebuilt"
    ok(
        "generate",
        "--from-manifest",
        str(chain["ext2"] / "manifest.json"),
        "--out",
        str(rebuilt),
        "--quiet",
    )
    for name, original in (("base", base), ("extension-1", ext1), ("extension-2", ext2)):
        copy = json.loads((rebuilt / name / "manifest.json").read_text())
        assert copy["files"] == original["files"], name


def test_default_spec_has_no_churn(tmp_path: Path) -> None:
    base, delta = tmp_path / "b", tmp_path / "d"
    ok("generate", "--band", "dev", "--scale", "0.02", "--out", str(base), "--quiet")
    ok("extend", str(base), "--days", "1", "--out", str(delta))
    import duckdb

    ops = dict(
        duckdb.sql(f"SELECT op, count(*) FROM '{delta}/changes/*.parquet' GROUP BY 1").fetchall()
    )
    assert set(ops) == {"read_cursor", "seen", "room_updated"}


def test_bad_input_is_one_line_and_writes_nothing(chain: dict[str, Path], tmp_path: Path) -> None:
    cases = [
        (["extend", str(chain["base"]), "--days", "0", "--out", str(tmp_path / "a")], "--days"),
        (
            ["extend", str(tmp_path / "missing"), "--days", "1", "--out", str(tmp_path / "b")],
            "no manifest",
        ),
        (["extend", str(chain["base"]), "--days", "1", "--out", str(chain["ext1"])], "not empty"),
    ]
    for args, named in cases:
        result = synthgen(*args)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1, result.stderr
        assert len(lines) == 1 and named in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    usage = synthgen("extend", str(chain["base"]), "--out", str(tmp_path / "c"))
    assert usage.returncode == 2 and "--days" in usage.stderr


def test_late_receipts_for_messages_before_the_seam(sql: Sql) -> None:
    """Reads the base dropped at its snapshot arrive in the extension: by members who had joined
    and did not send the message, of messages of the last 3 days, never a second read."""
    late, oldest = sql(
        """SELECT count(*), min(m."createdAt") FROM ext1_read_receipts r
        JOIN base_messages m ON m.id = r."messageId" """
    )[0]
    assert late > 10 and oldest >= datetime(2025, 12, 29, tzinfo=UTC)
    wrong = one(
        sql,
        """SELECT count(*) FROM ext1_read_receipts r JOIN base_messages m ON m.id = r."messageId"
        LEFT JOIN base_conversation_users u ON u."conversationId" = m."conversationId"
        AND u."userId" = r."userId" AND u."joinedAt" <= m."createdAt"
        WHERE u."userId" IS NULL OR r."userId" = m."senderId" """,
    )
    assert wrong == 0
    twice = one(
        sql,
        """SELECT count(*) - count(DISTINCT ("messageId", "userId")) FROM all_read_receipts""",
    )
    assert twice == 0
