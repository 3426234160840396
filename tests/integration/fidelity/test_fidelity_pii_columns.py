"""The PII scan covers every free-text column of the contract: a phone number planted in any of
them makes the check fail, naming that table and column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from synthgen.contract import free_text_columns
from synthgen.fidelity.checks.pii import TEXT_COLUMNS
from synthgen.schema import TABLES

PHONE = "555-867-5309"


def test_the_scan_list_is_the_contracts_free_text() -> None:
    columns = set(free_text_columns())
    # the columns the product's data actually carries as free text
    assert {
        ("users", "displayName"),
        ("conversations", "title"),
        ("messages", "content"),
        ("attachments", "storageKey"),
    } <= columns
    # every free-text column but the email (held to the reserved-domain rule) is scanned
    assert set(TEXT_COLUMNS) == columns - {("users", "email")}
    for table, column in columns:
        assert column in TABLES[table].column_names


@pytest.mark.parametrize(("table", "column"), TEXT_COLUMNS)
def test_a_phone_number_in_each_free_text_column_fails(
    kit: Any, fid_copy: Path, table: str, column: str
) -> None:
    kit.rewrite_table(
        fid_copy,
        table,
        f"""
        SELECT * REPLACE (CASE WHEN id = (SELECT min(id) FROM {table} WHERE "{column}" IS NOT NULL)
                               THEN 'call {PHONE} now' ELSE "{column}" END AS "{column}")
        FROM {table}
        """,
    )
    (row_id,) = (
        kit.connect_views(fid_copy)
        .execute(f"SELECT min(id) FROM {table} WHERE \"{column}\" LIKE '%{PHONE}%'")
        .fetchone()
    )
    result = kit.run_validate(str(fid_copy), "--quiet")
    assert result.exit_code == 3, result.output
    report = kit.report_of(fid_copy)
    assert report["decision"]["verdict"] == "NO-GO"
    assert kit.statuses(report)["pii"] == "FAIL"
    assert kit.metric(report, "pii", "phone numbers")["measured"] == 1
    pii = next(c for c in report["checks"] if c["name"] == "pii")
    assert [(f["rule"], f["table"], f["column"], f["row_id"]) for f in pii["findings"]] == [
        ("phone", table, column, str(row_id))
    ]
    assert PHONE not in (fid_copy / "fidelity-report.json").read_text()
