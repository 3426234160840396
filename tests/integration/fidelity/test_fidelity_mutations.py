"""Mutation tests: break exactly one property of a good dataset; exactly the checks that the break
touches must fail, and the command must say NO-GO with exit code 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from synthgen.fidelity.checks.physical_layout import FILE_ORDER
from synthgen.fidelity.expected_time import window_exposure
from synthgen.schema import TABLES
from synthgen.spec import load_spec
from synthgen.units import US_PER_DAY


def _assert_only(kit: Any, root: Path, failing: set[str]) -> dict[str, Any]:
    """Run `validate`; NO-GO, exit 3, the `failing` checks FAIL and every other check PASSes."""
    result = kit.run_validate(str(root), "--quiet")
    assert result.exit_code == 3, result.output
    assert result.stdout.startswith("decision: NO-GO")
    report = kit.report_of(root)
    assert report["decision"]["verdict"] == "NO-GO"
    got = kit.statuses(report)
    assert {name for name, status in got.items() if status == "FAIL"} == failing, got
    assert {name for name, status in got.items() if status != "FAIL"} == {
        name for name in kit.check_names if name not in failing
    }
    assert all(got[name] == "PASS" for name in kit.check_names if name not in failing), got
    for name in failing:
        assert any(name in reason for reason in report["decision"]["reasons"])
    return report


def _last_read_from_receipts(kit: Any, root: Path) -> None:
    """Recompute conversation_users.lastReadAt from the (rewritten) receipts."""
    kit.rewrite_table(
        root,
        "conversation_users",
        """
        SELECT cu.* REPLACE (l.t AS "lastReadAt")
        FROM conversation_users cu LEFT JOIN (
            SELECT m."conversationId" AS cid, r."userId" AS uid, max(r."readAt") AS t
            FROM read_receipts r JOIN messages m ON m.id = r."messageId" GROUP BY ALL) l
        ON l.cid = cu."conversationId" AND l.uid = cu."userId"
        """,
    )


def test_swapped_timestamps_in_one_conversation(kit: Any, fid_copy: Path) -> None:
    kit.rewrite_table(
        fid_copy,
        "messages",
        """
        WITH pair AS (
            SELECT a, b, ta, tb FROM (
                SELECT id AS a, lead(id) OVER w AS b,
                       "createdAt" AS ta, lead("createdAt") OVER w AS tb
                FROM messages WINDOW w AS (PARTITION BY "conversationId" ORDER BY id))
            WHERE b IS NOT NULL ORDER BY a LIMIT 1)
        SELECT m.* REPLACE (CASE WHEN m.id = p.a THEN p.tb WHEN m.id = p.b THEN p.ta
                                 ELSE m."createdAt" END AS "createdAt")
        FROM messages m CROSS JOIN pair p
        """,
    )
    report = _assert_only(kit, fid_copy, {"timestamps"})
    assert kit.metric(report, "timestamps", "does not increase")["measured"] == 1


def test_sender_who_is_not_a_member(kit: Any, fid_copy: Path) -> None:
    kit.rewrite_table(
        fid_copy,
        "messages",
        """
        WITH target AS (SELECT id, "conversationId" AS cid FROM messages ORDER BY id LIMIT 1),
        outsider AS (
            SELECT min(u.id) AS uid FROM users u, target t
            WHERE u.id NOT IN (SELECT "userId" FROM conversation_users
                               WHERE "conversationId" = t.cid)
              AND u.id NOT IN (SELECT "userId" FROM read_receipts WHERE "messageId" = t.id))
        SELECT m.* REPLACE (CASE WHEN m.id = t.id THEN o.uid ELSE m."senderId" END AS "senderId")
        FROM messages m, target t, outsider o
        """,
    )
    report = _assert_only(kit, fid_copy, {"referential_integrity"})
    assert kit.metric(report, "referential_integrity", "sender is not a member")["measured"] == 1


def test_real_looking_email_in_a_message(kit: Any, fid_copy: Path) -> None:
    email = "john.smith@gmail.com"
    kit.rewrite_table(
        fid_copy,
        "messages",
        f"""
        SELECT * REPLACE (CASE WHEN id = (SELECT min(id) FROM messages WHERE type = 'TEXT')
                               THEN 'write to {email} today' ELSE content END AS content)
        FROM messages
        """,
    )
    report = _assert_only(kit, fid_copy, {"pii"})
    assert kit.metric(report, "pii", "email addresses")["measured"] == 1
    pii = next(c for c in report["checks"] if c["name"] == "pii")
    (finding,) = pii["findings"]
    row = (
        kit.connect_views(fid_copy)
        .execute("SELECT min(id) FROM messages WHERE content LIKE '%gmail%'")
        .fetchone()
    )
    assert (finding["table"], finding["column"], finding["row_id"]) == (
        "messages",
        "content",
        str(row[0]),
    )
    assert finding["rule"] == "email"
    assert finding["detail"] == "jo****************om"
    shown = kit.run_validate(str(fid_copy)).output + (fid_copy / "fidelity-report.json").read_text()
    assert email not in shown


def test_each_pii_pattern_is_reported(kit: Any, fid_copy: Path) -> None:
    kit.rewrite_table(
        fid_copy,
        "users",
        """
        SELECT * REPLACE (
            CASE id WHEN 1 THEN 'someone@gmail.com' ELSE email END AS email,
            CASE id WHEN 2 THEN 'Call (555) 123-4567' WHEN 3 THEN 'ssn 078-05-1120'
                    ELSE "displayName" END AS "displayName")
        FROM users
        """,
    )
    kit.rewrite_table(
        fid_copy,
        "conversations",
        """
        SELECT * REPLACE (CASE WHEN id = (SELECT min(id) FROM conversations WHERE type = 'GROUP')
                               THEN 'card 4111 1111 1111 1111 ok' ELSE title END AS title)
        FROM conversations
        """,
    )
    report = _assert_only(kit, fid_copy, {"pii"})
    for name in ("reserved domain", "phone", "national-ID", "payment-card"):
        assert kit.metric(report, "pii", name)["measured"] == 1, name
    assert kit.metric(report, "pii", "email addresses")["measured"] == 0
    pii = next(c for c in report["checks"] if c["name"] == "pii")
    where = {(f["rule"], f["table"], f["column"], f["row_id"]) for f in pii["findings"]}
    assert ("phone", "users", "displayName", "2") in where
    assert ("national_id", "users", "displayName", "3") in where
    assert ("email not on a reserved domain", "users", "email", "1") in where
    assert any(
        f["rule"] == "payment_card" and f["table"] == "conversations" for f in pii["findings"]
    )
    assert all("4111 1111" not in f["detail"] for f in pii["findings"])


def test_missing_attachments(kit: Any, fid_copy: Path) -> None:
    kit.rewrite_table(fid_copy, "attachments", "SELECT * FROM attachments ORDER BY id OFFSET 3")
    report = _assert_only(kit, fid_copy, {"media"})
    assert kit.metric(report, "media", "without an attachment")["measured"] == 3


def test_shifted_media_ratio(kit: Any, fid_copy: Path) -> None:
    # a fifth of TEXT messages become IMAGE messages, consistently: 30% keep a caption and each
    # gets its attachment, so only the ratio and the kind mix move
    kit.rewrite_table(
        fid_copy,
        "messages",
        """
        SELECT * REPLACE (
            CASE WHEN type = 'TEXT' AND hash(id) % 5 = 0 THEN 'IMAGE' ELSE type END AS type,
            CASE WHEN type = 'TEXT' AND hash(id) % 5 = 0 AND hash(id + 1) % 10 >= 3 THEN NULL
                 ELSE content END AS content)
        FROM messages
        """,
    )
    kit.rewrite_table(
        fid_copy,
        "attachments",
        """
        SELECT * REPLACE (row_number() OVER (ORDER BY "createdAt", "messageId") AS id) FROM (
            SELECT * FROM attachments UNION ALL
            SELECT 0, m.id, 'IMAGE', 'image/jpeg', 120000, 'att/mutated/' || m.id || '.jpg',
                   m."createdAt"
            FROM messages m ANTI JOIN attachments a ON a."messageId" = m.id
            WHERE m.type = 'IMAGE')
        """,
    )
    report = _assert_only(kit, fid_copy, {"media"})
    ratio = kit.metric(report, "media", "media ratio")
    assert 0.28 < ratio["measured"] < 0.36
    assert ratio["status"] == "FAIL"


def test_truncated_content(kit: Any, fid_copy: Path) -> None:
    kit.rewrite_table(
        fid_copy,
        "messages",
        "SELECT * REPLACE (CASE WHEN type = 'TEXT' THEN left(content, 20) ELSE content END "
        "AS content) FROM messages",
    )
    report = _assert_only(kit, fid_copy, {"content_length"})
    assert kit.metric(report, "content_length", "mean length")["measured"] < 20


def test_relabelled_direct_conversations(kit: Any, fid_copy: Path) -> None:
    direct = "SELECT id FROM conversations WHERE type = 'DIRECT' ORDER BY id LIMIT 30"
    kit.rewrite_table(
        fid_copy,
        "conversation_traits",
        f"""SELECT * REPLACE (CASE WHEN "conversationId" IN ({direct}) THEN 'small'
                                   ELSE "sizeClass" END AS "sizeClass")
            FROM conversation_traits""",
    )
    kit.rewrite_table(
        fid_copy,
        "conversations",
        f"""SELECT * REPLACE (CASE WHEN id IN ({direct}) THEN 'GROUP' ELSE type END AS type)
            FROM conversations""",
    )
    report = _assert_only(kit, fid_copy, {"conversation_mix"})
    assert kit.metric(report, "conversation_mix", "outside their class")["measured"] == 30


def test_flattened_diurnal_profile(kit: Any, fid_copy: Path) -> None:
    _warp_to_flat_diurnal(kit, fid_copy)
    report = _assert_only(kit, fid_copy, {"temporal"})
    ratio = kit.metric(report, "temporal", "peak / trough")
    assert 0.85 < ratio["measured"] < 1.15
    assert kit.metric(report, "temporal", "weekday / weekend")["status"] == "PASS"


def test_removed_heavy_rooms(kit: Any, fid_copy: Path) -> None:
    (beyond,) = (
        kit.connect_views(fid_copy)
        .execute(
            """SELECT count(*) FROM conversation_traits t
           JOIN (SELECT "conversationId" AS cid, count(*) AS n FROM messages GROUP BY 1) m
             ON m.cid = t."conversationId"
           WHERE t."isHeavy" AND m.n > 9999"""
        )
        .fetchone()
    )
    assert beyond >= 1
    kit.rewrite_table(
        fid_copy,
        "conversation_traits",
        'SELECT * REPLACE (false AS "isHeavy") FROM conversation_traits',
    )
    # the former heavy rooms now count as regular rooms, far beyond the regular maximum
    report = _assert_only(kit, fid_copy, {"heavy_rooms", "messages_per_conversation"})
    assert kit.metric(report, "heavy_rooms", "heavy-room count")["measured"] == 0
    assert kit.metric(report, "heavy_rooms", "share of messages")["measured"] == 0
    assert kit.metric(report, "messages_per_conversation", "outside")["measured"] == beyond


def test_receipt_delays_pushed_out_of_their_bands(kit: Any, fid_copy: Path) -> None:
    snapshot = "TIMESTAMPTZ '2026-01-01 00:00:00+00'"
    kit.rewrite_table(
        fid_copy,
        "read_receipts",
        f"""SELECT * REPLACE (least("readAt" + INTERVAL 2 MINUTE, {snapshot}) AS "readAt")
            FROM read_receipts""",
    )
    _last_read_from_receipts(kit, fid_copy)
    report = _assert_only(kit, fid_copy, {"read_receipts"})
    immediate = kit.metric(report, "read_receipts", "immediate share")
    assert immediate["measured"] == 0
    assert immediate["expected"] > 0.3


def test_regular_room_shape_against_another_alpha(
    kit: Any, fid_copy: Path, spec_variant: Any
) -> None:
    spec = spec_variant("messages_per_conversation.regular.alpha", 3.0)
    result = kit.run_validate(str(fid_copy), "--spec", str(spec), "--quiet")
    assert result.exit_code == 3
    got = kit.statuses(kit.report_of(fid_copy))
    assert got["messages_per_conversation"] == "FAIL"
    assert {n for n, s in got.items() if s == "FAIL"} <= {
        "messages_per_conversation",
        "heavy_rooms",
    }


def _warp_to_flat_diurnal(kit: Any, root: Path) -> None:
    """Move every timestamp by one strictly increasing map of the window onto itself that turns
    the spec's diurnal intensity into a flat one (weekday factor kept): orders and equalities,
    hence every contract rule, survive; receipts keep their delays (and are dropped if they
    would now pass the snapshot); lastReadAt is recomputed."""
    spec = load_spec()
    window = window_exposure(spec.time)
    end = spec.time.snapshot_us
    start = end - spec.time.window_days * US_PER_DAY
    edges = np.linspace(start, end, len(window.intensity) + 1)
    model = np.concatenate([[0.0], np.cumsum(window.intensity)])
    flat = np.concatenate([[0.0], np.cumsum(window.weekday_factor)])

    def warp(us: np.ndarray) -> np.ndarray:
        mass = np.interp(us.astype(np.float64), edges, model / model[-1])
        moved = np.interp(mass, flat / flat[-1], edges).astype(np.int64)
        return np.where((us >= start) & (us <= end), moved, us)

    def column(table: pa.Table, name: str) -> np.ndarray:
        return table[name].cast(pa.int64()).to_numpy(zero_copy_only=False)

    def save(name: str, table: pa.Table) -> None:
        for old in (root / name).glob("*.parquet"):
            old.unlink()
        ordered = table.sort_by(FILE_ORDER[name])  # one file, in arrival order like a shard
        pq.write_table(ordered.cast(TABLES[name].arrow_schema), root / name / "part-00000.parquet")

    stamp = pa.timestamp("us", tz="UTC")
    messages = pq.read_table(root / "messages")
    created = column(messages, "createdAt")
    for name, columns in (
        ("users", ("createdAt", "lastSeenAt")),
        ("conversations", ("createdAt", "updatedAt")),
        ("conversation_users", ("joinedAt",)),
        ("messages", ("createdAt",)),
        ("attachments", ("createdAt",)),
    ):
        table = messages if name == "messages" else pq.read_table(root / name)
        for col in columns:
            moved = pa.array(warp(column(table, col)), type=pa.int64()).cast(stamp)
            table = table.set_column(table.schema.get_field_index(col), col, moved)
        save(name, table)
    receipts = pq.read_table(root / "read_receipts")
    ids = messages["id"].to_numpy()
    order = np.argsort(ids)
    row = order[np.searchsorted(ids, receipts["messageId"].to_numpy(), sorter=order)]
    read = warp(created[row]) + (column(receipts, "readAt") - created[row])
    keep = read <= end
    receipts = receipts.set_column(
        receipts.schema.get_field_index("readAt"),
        "readAt",
        pa.array(read, type=pa.int64()).cast(stamp),
    ).filter(pa.array(keep))
    save("read_receipts", receipts)
    _last_read_from_receipts(kit, root)


def test_stale_last_read(kit: Any, fid_copy: Path) -> None:
    kit.rewrite_table(
        fid_copy,
        "conversation_users",
        """
        SELECT * REPLACE (
            CASE WHEN ("conversationId", "userId") = (
                     SELECT ("conversationId", "userId") FROM conversation_users
                     WHERE "lastReadAt" IS NOT NULL ORDER BY ALL LIMIT 1)
                 THEN "lastReadAt" - INTERVAL 1 MINUTE ELSE "lastReadAt" END AS "lastReadAt")
        FROM conversation_users
        """,
    )
    report = _assert_only(kit, fid_copy, {"timestamps"})
    # its latest receipt is now later than lastReadAt, and no receipt matches lastReadAt
    assert kit.metric(report, "timestamps", "lastReadAt")["measured"] >= 2


def test_attachments_on_a_text_message_and_on_no_message(kit: Any, fid_copy: Path) -> None:
    kit.rewrite_table(
        fid_copy,
        "attachments",
        """
        SELECT * FROM attachments UNION ALL
        SELECT max(a.id) + 1, (SELECT min(id) FROM messages WHERE type = 'TEXT'), 'IMAGE',
               'image/png', 1000, 'att/on-text.png', min(a."createdAt")
        FROM attachments a UNION ALL
        SELECT max(a.id) + 2, (SELECT max(id) + 1000 FROM messages), 'AUDIO', 'audio/ogg', 1000,
               'att/orphan.ogg', min(a."createdAt")
        FROM attachments a
        """,
    )
    report = _assert_only(kit, fid_copy, {"media", "referential_integrity"})
    assert kit.metric(report, "media", "TEXT messages with an attachment")["measured"] == 1
    assert kit.metric(report, "media", "without an attachment")["measured"] == 0
    orphans = kit.metric(report, "referential_integrity", "attachments.messageId")
    assert orphans["measured"] == 1


def test_message_ids_in_room_order(kit: Any, fid_copy: Path) -> None:
    """Message ids numbered room by room (as a generator that inserts conversation by
    conversation would), every reference renumbered with them: only the physical layout breaks."""
    renumbered = """renumbered AS (SELECT id AS old,
        row_number() OVER (ORDER BY "conversationId", "createdAt") AS new FROM messages)"""
    # the references first: they read the original message ids
    for table in ("attachments", "read_receipts", "messages"):
        column = "id" if table == "messages" else "messageId"
        kit.rewrite_table(
            fid_copy,
            table,
            f"""WITH {renumbered} SELECT t.* REPLACE (r.new AS "{column}")
            FROM {table} t JOIN renumbered r ON r.old = t."{column}" """,
        )
    report = _assert_only(kit, fid_copy, {"physical_layout"})
    rho = kit.metric(report, "physical_layout", "messages: rank correlation")["measured"]
    assert rho < 0.9


def test_receipts_file_out_of_read_order(kit: Any, fid_copy: Path) -> None:
    kit.rewrite_table(
        fid_copy,
        "read_receipts",
        'SELECT * FROM read_receipts ORDER BY "messageId" DESC, "userId"',
        ordered=True,
    )
    report = _assert_only(kit, fid_copy, {"physical_layout"})
    out_of_order = kit.metric(report, "physical_layout", "read_receipts: rows out of readAt")
    assert out_of_order["measured"] > 0


def test_a_receipt_pair_repeated(kit: Any, fid_copy: Path) -> None:
    """No (message, user) pair repeats: it is the receipts' primary key."""
    kit.rewrite_table(
        fid_copy,
        "read_receipts",
        """SELECT * FROM read_receipts
           UNION ALL (SELECT * FROM read_receipts ORDER BY "readAt", "messageId" LIMIT 1)""",
    )
    report = _assert_only(kit, fid_copy, {"referential_integrity"})
    key = kit.metric(report, "referential_integrity", "primary keys in read_receipts")
    assert (key["measured"], key["status"]) == (1, "FAIL")


def test_a_reader_who_joined_after_the_message(kit: Any, fid_copy: Path) -> None:
    """A member who read a message is moved to have joined one second after it (and before the
    read, and before anything they sent in the room): the receipt now precedes its reader."""
    kit.rewrite_table(
        fid_copy,
        "conversation_users",
        """
        WITH pick AS (
            SELECT r."userId" AS uid, m."conversationId" AS cid, m."createdAt" AS t
            FROM read_receipts r JOIN messages m ON m.id = r."messageId"
            WHERE r."readAt" > m."createdAt" + INTERVAL 2 SECOND
              AND NOT EXISTS (SELECT 1 FROM messages s
                              WHERE s."conversationId" = m."conversationId"
                                AND s."senderId" = r."userId" AND s."createdAt" <= r."readAt")
            ORDER BY m.id, r."userId" LIMIT 1)
        SELECT cu.* REPLACE (CASE WHEN cu."conversationId" = p.cid AND cu."userId" = p.uid
                                  THEN p.t + INTERVAL 1 SECOND ELSE cu."joinedAt" END
                             AS "joinedAt")
        FROM conversation_users cu, pick p
        """,
    )
    report = _assert_only(kit, fid_copy, {"referential_integrity"})
    before = kit.metric(report, "referential_integrity", "sent before its reader joined")
    assert before["measured"] >= 1 and before["status"] == "FAIL"
