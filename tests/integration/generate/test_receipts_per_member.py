"""Read receipts per member: the generator's rows against the rules, with the eligible
(message, member) pairs computed independently in DuckDB from the Parquet files."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.schema import TABLES
from synthgen.spec import DEFAULT_SPEC_PATH, load_spec

Query = Callable[[str], list[tuple[Any, ...]]]
SCALE = 0.02  # dev x 0.02: 160 rooms, 100,000 messages
CAP = 8  # below the small groups' maximum, so some small groups keep only lastReadAt
MODELS = {
    "member": {"per": "member"},
    "member-capped": {"per": "member", "per_member_max_members": CAP},
    "message": {"per": "message"},
}
DAY_US = 86_400 * 1_000_000


def _spec(directory: Path, name: str) -> Path:
    raw: dict[str, Any] = json.loads(DEFAULT_SPEC_PATH.read_text())
    raw["read_receipts"].pop("per_member_max_members", None)
    raw["read_receipts"].update(MODELS[name])
    path = directory / f"{name}.json"
    path.write_text(json.dumps(raw))
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Query]:
    base = tmp_path_factory.mktemp("receipts")
    out: dict[str, Query] = {}
    for name in MODELS:
        spec_path = _spec(base, name)
        root = base / name
        build_dataset(
            load_spec(spec_path),
            BuildOptions("dev", SCALE, "receipts", root, workers=2, spec_path=str(spec_path)),
        )
        con = duckdb.connect()
        for table in TABLES:
            con.execute(
                f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{root}/{table}/*.parquet')"
            )
        out[name] = _runner(con)
    return out


def _runner(con: duckdb.DuckDBPyConnection) -> Query:
    def run(sql: str) -> list[tuple[Any, ...]]:
        return con.execute(sql).fetchall()

    return run


# per message: its room's members other than the sender who had joined by its time, counted by
# a plain correlated join (not the generator's method, nor the gate's ASOF join)
ELIGIBLE = """
WITH rooms AS (SELECT conversationId, count(*) AS size FROM conversation_users GROUP BY 1)
SELECT m.id, m.createdAt, r.size,
       (SELECT count(*) FROM conversation_users cu
        WHERE cu.conversationId = m.conversationId AND cu.joinedAt <= m.createdAt
          AND cu.userId <> m.senderId) AS readers
FROM messages m JOIN rooms r USING (conversationId)
"""


@pytest.mark.parametrize("name", ["member", "member-capped"])
def test_receipts_are_eligible_pairs_times_the_read_rate(
    built: dict[str, Query], name: str
) -> None:
    """Messages older than the longest delay lose no receipt to the snapshot, so their receipts
    are a binomial draw over their eligible pairs at the read rate."""
    q = built[name]
    spec = load_spec()  # the models differ only in read_receipts.per and the cap
    rate = spec.read_receipts.read_rate
    cap = CAP if name == "member-capped" else 10**9
    horizon = f"TIMESTAMPTZ '{spec.raw['time']['snapshot']}' - INTERVAL 30 DAY"
    ((pairs,),) = q(
        f"SELECT sum(readers) FROM ({ELIGIBLE}) WHERE createdAt < {horizon} AND size <= {cap}"
    )
    ((got,),) = q(
        f"SELECT count(*) FROM read_receipts r JOIN messages m ON m.id = r.messageId "
        f"WHERE m.createdAt < {horizon}"
    )
    sd = math.sqrt(pairs * rate * (1 - rate))
    assert pairs > 1_000 and abs(got - pairs * rate) <= 4 * sd, (got, pairs * rate, sd)
    # every receipt, recent messages included: at most the eligible pairs, and most of them
    ((all_pairs,),) = q(f"SELECT sum(readers) FROM ({ELIGIBLE}) WHERE size <= {cap}")
    ((receipts,),) = q("SELECT count(*) FROM read_receipts")
    assert 0.7 * rate * all_pairs < receipts < rate * all_pairs + 4 * sd


@pytest.mark.parametrize("name", list(MODELS))
def test_no_pair_repeats_and_every_reader_had_joined(built: dict[str, Query], name: str) -> None:
    q = built[name]
    ((rows, pairs),) = q("SELECT count(*), count(DISTINCT (messageId, userId)) FROM read_receipts")
    assert rows == pairs > 0
    ((before, sender, outsider),) = q(
        """
        SELECT count(*) FILTER (WHERE m.createdAt < cu.joinedAt OR r.readAt < cu.joinedAt),
               count(*) FILTER (WHERE r.userId = m.senderId),
               count(*) FILTER (WHERE cu.userId IS NULL)
        FROM read_receipts r JOIN messages m ON m.id = r.messageId
        LEFT JOIN conversation_users cu
               ON cu.conversationId = m.conversationId AND cu.userId = r.userId
        """
    )
    assert (before, sender, outsider) == (0, 0, 0)


@pytest.mark.parametrize("name", list(MODELS))
def test_last_read_is_the_members_latest_read(built: dict[str, Query], name: str) -> None:
    q = built[name]
    cap = CAP if name == "member-capped" else 10**9
    ((wrong, checked),) = q(
        f"""
        WITH rooms AS (SELECT conversationId, count(*) AS size FROM conversation_users GROUP BY 1),
        latest AS (SELECT m.conversationId, r.userId, max(r.readAt) AS t
                   FROM read_receipts r JOIN messages m ON m.id = r.messageId GROUP BY ALL)
        SELECT count(*) FILTER (WHERE cu.lastReadAt IS DISTINCT FROM l.t), count(*)
        FROM conversation_users cu JOIN rooms USING (conversationId)
        LEFT JOIN latest l USING (conversationId, userId)
        WHERE rooms.size <= {cap}
        """
    )
    assert wrong == 0 and checked > 0


def test_rooms_above_the_cap_keep_only_last_read(built: dict[str, Query]) -> None:
    q = built["member-capped"]
    snapshot = load_spec().raw["time"]["snapshot"]
    ((receipts, members, with_last_read, bad),) = q(
        f"""
        WITH big AS (SELECT conversationId FROM conversation_users GROUP BY 1
                     HAVING count(*) > {CAP})
        SELECT (SELECT count(*) FROM read_receipts r JOIN messages m ON m.id = r.messageId
                WHERE m.conversationId IN (SELECT * FROM big)),
               count(*), count(lastReadAt),
               count(*) FILTER (WHERE lastReadAt < joinedAt
                                   OR lastReadAt > TIMESTAMPTZ '{snapshot}')
        FROM conversation_users WHERE conversationId IN (SELECT * FROM big)
        """
    )
    assert receipts == 0 and bad == 0
    assert with_last_read > 0.5 * members  # they read, even if no row says so
    # the same reads as the uncapped build draws, only not written: lastReadAt in the big rooms
    # has the same distribution (hours before the snapshot), though not the same draws
    hours = f"""
        SELECT avg(h), stddev(h), count(*) FROM (
            SELECT epoch(TIMESTAMPTZ '{snapshot}' - lastReadAt) / 3600 AS h
            FROM conversation_users WHERE lastReadAt IS NOT NULL AND conversationId IN (
                SELECT conversationId FROM conversation_users GROUP BY 1 HAVING count(*) > {CAP}))
    """
    ((capped, sd, n),) = q(hours)
    ((uncapped, _, n_uncapped),) = built["member"](hours)
    assert abs(n - n_uncapped) <= 4 * math.sqrt(members)
    assert abs(capped - uncapped) <= 4 * sd * math.sqrt(2 / n), (capped, uncapped, sd, n)


def test_one_receipt_per_read_message_under_the_message_model(built: dict[str, Query]) -> None:
    q = built["message"]
    ((rows, messages),) = q("SELECT count(*), count(DISTINCT messageId) FROM read_receipts")
    assert rows == messages
    ((per_member_rows,),) = built["member"]("SELECT count(*) FROM read_receipts")
    assert per_member_rows > 5 * rows  # group rooms: one row per reader
