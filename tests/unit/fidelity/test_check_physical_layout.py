"""Check physical_layout on tiny datasets: ids against time by rank correlation (a floor of
0.99), rows out of arrival order inside each file (none allowed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.mark.parametrize(
    ("users", "rho", "status"),
    [
        # one adjacent pair of ranks swapped: rho = 1 - 6 * 2 / (n (n^2 - 1))
        (10, 1 - 12 / (10 * 99), "FAIL"),  # 0.987879: just below the 0.99 floor
        (11, 1 - 12 / (11 * 120), "PASS"),  # 0.990909: just above it
    ],
)
def test_user_ids_against_sign_up_order(
    tiny: Any, tmp_path: Path, users: int, rho: float, status: str
) -> None:
    w = tiny.world()
    w.add_users(users)
    tables = w.tables()
    first, second = tables["users"][:2]
    first["createdAt"], second["createdAt"] = second["createdAt"], first["createdAt"]
    outcome = tiny.run(w.write(tmp_path / "ds", tables), "physical_layout")
    m = tiny.metric(outcome, "users: rank correlation")
    assert m.rule == "at_least"
    assert m.expected == 0.99
    assert m.measured == round(rho, 6)
    assert m.status == status
    assert tiny.status(outcome) == status
    assert [f.rule for f in outcome.findings] == (
        ["id not in createdAt order"] if status == "FAIL" else []
    )


def test_rows_out_of_order_inside_a_file_but_not_across_files(tiny: Any, tmp_path: Path) -> None:
    w = tiny.basic()
    tables = w.tables()
    messages = tables["messages"]  # ids 1..12
    messages[0], messages[1] = messages[1], messages[0]  # one step down inside the file: 2, 1
    outcome = tiny.run(w.write(tmp_path / "one", tables), "physical_layout")
    m = tiny.metric(outcome, "messages: rows out of id order")
    assert (m.expected, m.measured, m.status) == (0, 1, "FAIL")
    assert [f.detail for f in outcome.findings] == ["messages/part-00000.parquet: 1 rows"]
    # the ids still follow createdAt: the correlation is not what failed
    assert tiny.metric(outcome, "messages: rank correlation").measured == 1.0

    # ids 7..12 in the first file, 1..6 in the second: each file is in order, and files are
    # judged one by one (the loader merges them)
    tables = w.tables()
    tables["messages"] = tables["messages"][6:] + tables["messages"][:6]
    split = w.write(tmp_path / "two", tables, split={"messages": [6]})
    outcome = tiny.run(split, "physical_layout")
    assert tiny.metric(outcome, "messages: rows out of id order").measured == 0
    assert tiny.status(outcome) == "PASS"


def test_conversation_ids_are_reported_not_judged(tiny: Any, tmp_path: Path) -> None:
    w = tiny.basic()
    tables = w.tables()
    direct, group = tables["conversations"]
    direct["createdAt"] = group["createdAt"] + 1  # ids 1, 2 now in reverse creation order
    outcome = tiny.run(w.write(tmp_path / "ds", tables), "physical_layout")
    assert outcome.notes == [
        "conversations: rank correlation of id with createdAt -1.000 "
        "(not judged: ids in draw order by contract)"
    ]
    assert tiny.status(outcome) == "PASS"


def test_a_table_of_one_row_is_skipped_not_failed(tiny: Any, tmp_path: Path) -> None:
    # the basic world has one attachment: a correlation of one row is undefined
    outcome = tiny.run(tiny.basic().write(tmp_path / "ds"), "physical_layout")
    m = tiny.metric(outcome, "attachments: rank correlation")
    assert (m.status, m.measured, m.note) == ("SKIP", None, "fewer than two rows")
    assert tiny.status(outcome) == "PASS"


@pytest.mark.parametrize("per_query", [1, 2, 8])
def test_files_read_a_few_at_a_time_count_the_same(
    tiny: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, per_query: int
) -> None:
    """The per-file order check reads FILES_PER_QUERY files per query (a self-join of the whole
    table ran the perf band out of memory): how the files are grouped changes no count."""
    from synthgen.fidelity.checks import physical_layout

    monkeypatch.setattr(physical_layout, "FILES_PER_QUERY", per_query)
    w = tiny.basic()
    tables = w.tables()
    messages = tables["messages"]  # ids 1..12 in three files of 4: a step down in files 1 and 3
    messages[0], messages[1] = messages[1], messages[0]
    messages[9], messages[10] = messages[10], messages[9]
    ds = w.write(tmp_path / "three", tables, split={"messages": [4, 8]})
    outcome = tiny.run(ds, "physical_layout")
    assert tiny.metric(outcome, "messages: rows out of id order").measured == 2
    assert [f.detail for f in outcome.findings] == [
        "messages/part-00000.parquet: 1 rows",
        "messages/part-00002.parquet: 1 rows",
    ]
