"""Candidate indexes read from EXPLAIN (VERBOSE, FORMAT JSON) of generic plans (pure)."""

from __future__ import annotations

from typing import Any

from synthgen.verify.candidates import Access, candidates, conjuncts, read_accesses


def _scan(alias: str, relation: str, **fields: Any) -> dict[str, Any]:
    return {"Node Type": "Bitmap Heap Scan", "Relation Name": relation, "Alias": alias, **fields}


# Q1 on phase 1, as PostgreSQL 15 prints it: one relation, so outputs are unqualified
Q1 = [
    {
        "Plan": {
            "Node Type": "Limit",
            "Output": ["id", '"senderId"', "type", "content", '"createdAt"'],
            "Plans": [
                {
                    "Node Type": "Sort",
                    "Sort Key": ['m."createdAt" DESC'],
                    "Plans": [
                        _scan(
                            "m",
                            "messages",
                            Output=["id", '"senderId"', "type", "content", '"createdAt"'],
                            **{"Recheck Cond": '(m."conversationId" = $1)'},
                            Plans=[
                                {
                                    "Node Type": "Bitmap Index Scan",
                                    "Index Name": "messages_conversationId_idx",
                                    "Index Cond": '(m."conversationId" = $1)',
                                }
                            ],
                        )
                    ],
                }
            ],
        }
    }
]


def test_q1_gives_equality_then_the_sort_order() -> None:
    (access,) = read_accesses(Q1)
    assert access.relation == "messages" and access.equality == ["conversationId"]
    assert access.order == [("createdAt", "DESC")] and access.constants == []
    found = candidates(access, {"id": 8, "senderId": 8, "type": 5, "content": 60})
    assert [(c.kind, c.keys) for c in found] == [
        ("order", (("conversationId", ""), ("createdAt", "DESC"))),
        ("equality", (("conversationId", ""),)),
    ]  # id, senderId, type and content: 81 bytes, too wide to INCLUDE
    assert found[0].sql("i") == (
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "i"\n'
        '    ON "messages" ("conversationId", "createdAt" DESC)'
    )
    assert found[0].name() == "idx_messages_conversationid_createdat_desc"


def test_constant_filters_become_the_partial_predicate_and_narrow_outputs_an_include() -> None:
    plan = {
        "Plan": {
            "Node Type": "Hash Join",
            "Output": ['cu."lastReadAt"', "c.id"],
            "Hash Cond": '(c.id = cu."conversationId")',
            "Plans": [
                {"Node Type": "Seq Scan", "Relation Name": "conversations", "Alias": "c"},
                {
                    "Node Type": "Seq Scan",
                    "Relation Name": "conversation_users",
                    "Alias": "cu",
                    "Output": ['cu."conversationId"', 'cu."userId"', "cu.role"],
                    "Filter": '(cu."isActive" AND (cu."userId" = $1) AND (cu."deletedAt" IS NULL)'
                    " AND (cu.kind = 'MEMBER'::text) AND (cu.\"joinedAt\" < $2))",
                },
            ],
        }
    }
    accesses = {a.alias: a for a in read_accesses(plan)}
    cu = accesses["cu"]
    assert cu.equality == ["userId"] and cu.joins == ["conversationId"]
    assert cu.ranges == ["joinedAt"]
    assert cu.constants == ['"isActive"', '"deletedAt" IS NULL', "\"kind\" = 'MEMBER'"]
    found = candidates(cu, {"lastReadAt": 8, "conversationId": 8, "joinedAt": 8})
    assert [(c.kind, c.keys) for c in found] == [
        ("range", (("userId", ""), ("joinedAt", ""))),
        ("equality", (("userId", ""),)),
        ("covering", (("userId", ""), ("joinedAt", ""))),
    ]
    assert found[2].include == ("lastReadAt", "conversationId")
    assert found[2].definition() == (
        'ON "conversation_users" ("userId", "joinedAt") INCLUDE ("lastReadAt", "conversationId")'
        ' WHERE "isActive" AND "deletedAt" IS NULL AND "kind" = \'MEMBER\''
    )
    # the other side is fixed only through the join: the inner side of a nested loop
    assert accesses["c"].equality == [] and accesses["c"].joins == ["id"]


def test_a_sort_over_two_relations_is_no_single_index_order() -> None:
    access = Access("m", "messages", equality=["conversationId"])
    assert [c.kind for c in candidates(access, {})] == ["equality"]
    plan = {
        "Plan": {
            "Node Type": "Sort",
            "Sort Key": ['c."updatedAt" DESC', 'm."createdAt"'],
            "Plans": [
                _scan("c", "conversations"),
                _scan("m", "messages", **{"Recheck Cond": '(m."conversationId" = c.id)'}),
            ],
        }
    }
    accesses = {a.alias: a for a in read_accesses(plan)}
    assert accesses["c"].order == [] and accesses["m"].order == []


def test_a_sort_keeps_its_nulls_order_when_it_is_not_the_default() -> None:
    plan = {
        "Plan": {
            "Node Type": "Sort",
            "Sort Key": ['c."lastMessageAt" DESC NULLS LAST', "c.id DESC NULLS FIRST", "c.n"],
            "Plans": [_scan("c", "Conversation")],
        }
    }
    (access,) = read_accesses(plan)
    assert access.order == [("lastMessageAt", "DESC NULLS LAST"), ("id", "DESC"), ("n", "")]
    (order,) = candidates(access, {})
    assert order.definition() == (
        'ON "Conversation" ("lastMessageAt" DESC NULLS LAST, "id" DESC, "n")'
    )


def test_conjuncts_split_only_the_top_level() -> None:
    assert conjuncts("((a = $1) AND ((b > 2) OR (c AND d)))") == ["a = $1", "(b > 2) OR (c AND d)"]
