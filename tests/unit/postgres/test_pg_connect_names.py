"""Schema names, DSN hosts and driver error text: no server needed."""

from __future__ import annotations

import pytest

from synthgen.errors import LoadError
from synthgen.postgres.connect import error_text, validate_schema_name
from synthgen.postgres.dsn import dsn_hosts


@pytest.mark.parametrize("name", ["perf_synthetic", "_x", "a1", "x" * 63])
def test_plain_identifiers_are_accepted(name: str) -> None:
    assert validate_schema_name(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ('x"; DROP TABLE y; --', "not a plain identifier"),
        ("Perf", "not a plain identifier"),
        ("1abc", "not a plain identifier"),
        ("x" * 64, "not a plain identifier"),
        ("", "not a plain identifier"),
        ("a-b", "not a plain identifier"),
        ("pg_catalog", "reserved"),
        ("information_schema", "reserved"),
        ("public", "--allow-public"),
    ],
)
def test_other_names_are_refused(name: str, reason: str) -> None:
    with pytest.raises(LoadError, match=reason):
        validate_schema_name(name)


def test_public_needs_the_flag() -> None:
    assert validate_schema_name("public", allow_public=True) == "public"


@pytest.mark.parametrize(
    ("dsn", "hosts"),
    [
        ("postgresql://u:p@db.prod.internal:5432/app", ["db.prod.internal"]),
        ("postgres://a,b:5433/app", ["a", "b"]),
        ("postgresql://[::1]:5432/app", ["::1"]),
        ("postgresql://u@x/app?hostaddr=10.0.0.1", ["x", "10.0.0.1"]),
        ("postgresql:///app?host=%2Fvar%2Frun%2Fpostgresql", ["/var/run/postgresql"]),
        ("host=db1 port=5432 password='a b'", ["db1"]),
        ("host=h1,h2 dbname=x", ["h1", "h2"]),
    ],
)
def test_dsn_hosts(dsn: str, hosts: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGHOST", raising=False)
    assert dsn_hosts(dsn) == hosts


def test_dsn_hosts_fall_back_to_pghost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGHOST", "prod-replica")
    assert dsn_hosts("dbname=app") == ["prod-replica"]


class FakeDriverError(Exception):
    """Shaped like adbc_driver_manager.Error: details and sqlstate attributes."""

    def __init__(self, text: str, details: list[tuple[bytes, bytes]], sqlstate: str) -> None:
        super().__init__(text)
        self.details = details
        self.sqlstate = sqlstate


def test_error_text_is_one_line_with_the_password_masked() -> None:
    raw = (
        'IO: [libpq] Failed to connect: connection to server at "h" failed: FATAL:  '
        "password hunter2 rejected\n\tIs the server running?\n"
    )
    text = error_text(Exception(raw), "postgresql://me:hunter2@h/db")
    assert "\n" not in text and "\t" not in text
    assert text.startswith("Failed to connect")
    assert "hunter2" not in text and "***" in text


def test_error_text_prefers_the_servers_primary_message() -> None:
    exc = FakeDriverError(
        "INVALID_DATA: [libpq] long text\n\nQuery was: COPY ...",
        [(b"PG_DIAG_MESSAGE_PRIMARY", b"could not extend file: No space left on device")],
        "53100",
    )
    assert error_text(exc) == ("could not extend file: No space left on device (SQLSTATE 53100)")
