"""The load test's pure parts: the mix, DSNs for pgbench and PgBouncer, the knee, the decision."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from synthgen.errors import LoadTestError
from synthgen.fidelity.svg import LEFT, WIDTH
from synthgen.loadtest.compare import compare_results
from synthgen.loadtest.html import line_chart
from synthgen.loadtest.sweep import find_knee
from synthgen.loadtest.workload import parse_mix, read_script, unset_variables
from synthgen.postgres.dsn import dsn_parts, with_search_path
from synthgen.verify.queries import load_queries


def test_parse_mix_reads_weights_and_names_the_faulty_item() -> None:
    assert parse_mix("q1=40, Q3=20,W1=5") == {"Q1": 40, "Q3": 20, "W1": 5}
    cases = [("Q1", "KEY=WEIGHT"), ("Q1=x", "whole number"), ("Q1=-1", ">= 0"),
             ("Q1=0", "positive"), ("X1=3", "KEY=WEIGHT")]  # fmt: skip
    for bad, fragment in cases:
        with pytest.raises(LoadTestError, match=fragment):
            parse_mix(bad)


def test_dsn_parts_and_search_path() -> None:
    parts = dsn_parts("postgresql://app:s%40cret@db.test:6543/chat?sslmode=disable")
    assert parts == {"host": "db.test", "port": "6543", "dbname": "chat", "user": "app",
                     "password": "s@cret", "sslmode": "disable"}  # fmt: skip
    assert dsn_parts("host=127.0.0.1 port=5 dbname='x y' user=u") == {
        "host": "127.0.0.1", "port": "5", "dbname": "x y", "user": "u",
    }  # fmt: skip
    uri = with_search_path("postgresql://u@127.0.0.1:5/db", "perf_dev")
    assert uri == "postgresql://u@127.0.0.1:5/db?options=-csearch_path%3Dperf_dev"
    assert with_search_path("postgresql://u@h/db?a=1", "s").endswith(
        "?a=1&options=-csearch_path%3Ds"
    )
    assert with_search_path("host=h dbname=d", "s") == "host=h dbname=d options='-csearch_path=s'"


def test_read_scripts_bind_each_parameter_to_its_draw() -> None:
    queries = {q.key: q for q in load_queries()}
    totals = {"room_weight": 1000, "user_weight": 700}
    q2 = read_script("Q2", queries["q2"], totals, record=False)
    assert "\\set r random(1, 1000)" in q2 and ":room" in q2 and ":room_cursor" in q2
    assert "$1" not in q2 and "$2" not in q2 and "synthgen_lt_draws" not in q2
    q3 = read_script("Q3", queries["q3"], totals, record=True)
    assert "\\set r random(1, 700)" in q3 and ":user_id" in q3
    assert "INSERT INTO synthgen_lt_draws VALUES ('Q3', :user_id);" in q3


def _step(clients: int, tps: float, p99: float, **queries: dict[str, float]) -> dict[str, Any]:
    return {"clients": clients, "tps": tps, "p99_ms": p99, "queries": queries}


def test_knee_is_where_throughput_flattens_and_p99_climbs() -> None:
    steps = [_step(1, 100, 5), _step(4, 350, 6), _step(16, 380, 30), _step(64, 370, 120)]
    assert find_knee(steps)["clients"] == 4
    rising = [_step(1, 100, 5), _step(4, 390, 5.5), _step(16, 1400, 9)]
    assert find_knee(rising)["clients"] is None


def _run(label: str, q1_p95: float, w1_p95: float) -> dict[str, Any]:
    def q(p95: float) -> dict[str, float]:
        return {"transactions": 100, "p50_ms": p95 / 2, "p95_ms": p95, "p99_ms": p95 * 1.5,
                "tps": 1000 / p95}  # fmt: skip

    return {
        "label": label, "pool": "none", "indexes": [],
        "scripts": {"Q1": {"kind": "read"}, "W1": {"kind": "write"}},
        "steps": [_step(c, 1, 1, Q1=q(q1_p95 * c), W1=q(w1_p95 * c)) for c in (1, 4)],
    }  # fmt: skip


def test_compare_decides_on_reads_and_the_write_budget(tmp_path: Path) -> None:
    go = compare_results(_run("pre", 60, 2.0), _run("post", 20, 2.2))
    assert go["decision"] == "GO"
    # closed-loop results keep their rule, labelled as not a comparison at equal load
    assert go["mode"] == "closed-loop" and go["rule"].startswith("closed loop (")
    assert "not a comparison at equal load" in go["rule"]
    assert go["p95_change_by_query"]["Q1"] == pytest.approx(-2 / 3)
    assert go["write_overhead"]["W1"]["p95_change"] == pytest.approx(0.10)
    too_costly = compare_results(_run("pre", 60, 2.0), _run("post", 20, 2.6))
    assert too_costly["decision"] == "NO-GO" and "W1" in too_costly["reasons"][0]
    assert compare_results(_run("pre", 60, 2.0), _run("post", 20, 2.6), 0.5)["decision"] == "GO"
    no_gain = compare_results(_run("pre", 20, 2.0), _run("post", 20, 2.0))
    assert no_gain["decision"] == "NO-GO" and "reads not better" in no_gain["reasons"][0]


def test_member_queries_draw_a_user_then_one_of_their_rooms() -> None:
    example = Path(__file__).resolve().parents[3] / "examples" / "prisma-chat" / "queries"
    q4 = next(q for q in load_queries(example) if q.key == "q4")
    script = read_script("Q4", q4, {"room_weight": 10, "user_weight": 7}, record=False)
    # the user by activity, then a room among their memberships by its messages
    assert "random(1, 7)" in script and "SELECT user_id, room_weight FROM" in script
    assert "random(1, :room_weight)" in script and "synthgen_lt_user_rooms" in script
    assert 'mr."userId" = :user_id' in script and 'm."conversationId" = :member_room' in script
    assert "$" not in script


def test_four_series_legends_fit_the_chart() -> None:
    names = ["pre, direct", "post, direct", "pre, pgbouncer (10)", "post, pgbouncer (10)"]
    series = {n: [(1.0, 2.0 + i), (4.0, 3.0 + i)] for i, n in enumerate(names)}
    svg = line_chart("Q1: p95", "ms", series)
    legends = re.findall(r'<text x="([\d.]+)" y="([\d.]+)">([^<]+)</text></g>', svg)
    assert [text for _, _, text in legends] == names
    for x, _, text in legends:  # ~6.5 px per character at 11 px
        assert float(x) + 6.5 * len(text) <= WIDTH, text
    assert len({y for _, y, _ in legends}) == 2  # two rows of two
    axis = re.search(rf'<line x1="{LEFT}" y1="([\d.]+)" x2="{LEFT}"', svg)
    assert axis is not None
    assert float(axis[1]) > max(float(y) for _, y, _ in legends)  # the plot starts below


def test_a_query_with_a_user_and_a_room_draws_both(tmp_path: Path) -> None:
    (tmp_path / "q9_unread.sql").write_text(
        "-- param $1 bigint user: a user\n-- param $2 bigint conversation: a room\n"
        "-- param $3 timestamptz conversation_cursor: a createdAt in it\n"
        'SELECT count(*) FROM "messages" WHERE "conversationId" = $2 AND "senderId" <> $1 '
        'AND "createdAt" < $3 AND "createdAt" > \'-infinity\'::timestamptz'
    )
    (query,) = load_queries(tmp_path)
    script = read_script("Q9", query, {"room_weight": 10, "user_weight": 7}, record=True)
    assert "random(1, 7)" in script and "random(1, 10)" in script  # a user and a room
    assert '"conversationId" = :room AND "senderId" <> :user_id' in script
    assert '"createdAt" < :room_cursor' in script
    assert unset_variables(script) == []


def test_unset_variables_names_what_no_draw_sets() -> None:
    script = (
        "\\set r random(1, :room_weight)\n"
        "SELECT user_id, room_weight FROM t WHERE hi >= :r ORDER BY hi LIMIT 1 \\gset\n"
        "SELECT conversation_id AS member_room FROM u WHERE user_id = :user_id \\gset\n"
        "SELECT :member_room, :room, '-infinity'::timestamptz;\n"
    )
    assert unset_variables(script) == ["room_weight", "room"]
