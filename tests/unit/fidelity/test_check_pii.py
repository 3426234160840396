"""Check pii on tiny datasets: user emails on reserved domains only, and no email, phone,
national-ID or Luhn-valid card number in any free-text column. All values are made up: the
numbers are the well-known test numbers, the domains synthetic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

LABEL = {
    "email": "email addresses in text columns",
    "phone": "phone numbers in text columns",
    "national_id": "national-ID numbers",
    "payment_card": "payment-card numbers",
}


def _run(tiny: Any, tmp_path: Path, table: str, column: str, value: str, row: int = 0) -> Any:
    w = tiny.basic()
    tables = w.tables()
    tables[table][row][column] = value
    return tiny.run(w.write(tmp_path / "ds", tables), "pii")


@pytest.mark.parametrize(
    ("email", "bad"),
    [
        ("bako@example.com", 0),
        ("BAKO@Example.ORG", 0),  # case does not matter
        ("bako@chat.test", 0),
        ("bako@zuti.example", 0),
        ("bako@zuti.invalid", 0),
        ("bako@localhost", 0),
        ("bako@example.co", 1),  # one letter short of a reserved domain
        ("bako@zutimail.io", 1),
        ("bako@example.com.io", 1),
    ],
)
def test_user_emails_must_be_on_a_reserved_domain(
    tiny: Any, tmp_path: Path, email: str, bad: int
) -> None:
    outcome = _run(tiny, tmp_path, "users", "email", email)
    m = tiny.metric(outcome, "user emails not on a reserved domain")
    assert (m.expected, m.measured, m.status) == (0, bad, "FAIL" if bad else "PASS")


def test_a_bad_email_is_reported_masked(tiny: Any, tmp_path: Path) -> None:
    outcome = _run(tiny, tmp_path, "users", "email", "bako@zutimail.io")
    # the first and last two characters only
    assert [(f.table, f.column, f.row_id, f.detail) for f in outcome.findings] == [
        ("users", "email", "1", "ba************io")
    ]


@pytest.mark.parametrize(
    ("table", "column", "value", "pattern", "count"),
    [
        ("messages", "content", "write to bako@zutimail.io", "email", 1),
        ("messages", "content", "write to bako at zutimail", "email", 0),
        ("conversations", "title", "call 555-123-4567", "phone", 1),
        ("conversations", "title", "call 555-123-456", "phone", 0),
        ("users", "displayName", "tester 078-05-1120", "national_id", 1),
        ("users", "displayName", "tester 078-05-112", "national_id", 0),
        ("messages", "content", "card 4111 1111 1111 1111", "payment_card", 1),
        ("messages", "content", "card 4111 1111 1111 1112", "payment_card", 0),  # Luhn fails
        ("attachments", "storageKey", "att/c2/bako@zutimail.io", "email", 1),
    ],
)
def test_each_pattern_in_each_free_text_column(
    tiny: Any, tmp_path: Path, table: str, column: str, value: str, pattern: str, count: int
) -> None:
    outcome = _run(tiny, tmp_path, table, column, value)
    assert {p: tiny.metric(outcome, label).measured for p, label in LABEL.items()} == {
        p: count if p == pattern else 0 for p in LABEL
    }
    assert tiny.status(outcome) == ("FAIL" if count else "PASS")
    assert [(f.rule, f.table, f.column) for f in outcome.findings] == (
        [(pattern, table, column)] if count else []
    )


def test_findings_name_the_row_and_mask_the_value(tiny: Any, tmp_path: Path) -> None:
    outcome = _run(tiny, tmp_path, "messages", "content", "card 4111 1111 1111 1111", row=4)
    (finding,) = outcome.findings
    assert (finding.row_id, finding.detail) == ("5", "41***************11")
