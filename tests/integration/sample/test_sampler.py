"""The sampler against a real production-like database: read-only, refusals, K, audit, noise."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from support.production import SALT  # the session's sample ran with it: its fingerprint is recorded
from synthgen.cli.sample import sample
from synthgen.sample.buckets import MEMBER_EDGES
from synthgen.sample.errors import PrivacyError, SampleError
from synthgen.sample.histograms import Thresholds, known_strings
from synthgen.sample.metrics import FORMAT, structural_keys
from synthgen.sample.privacy import fingerprint, scan_output
from synthgen.sample.publish import NEIGHBOURING
from synthgen.sample.session import read_only_session

pytestmark = pytest.mark.postgres
K = 10


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    from adbc_driver_postgresql import dbapi

    with dbapi.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def test_the_sampler_ran_as_a_select_only_role_and_wrote_nothing(
    production: Any, sampled: Any
) -> None:
    role = production.reader_role
    audit = _load(sampled.audit_path)
    assert audit["dsn"].startswith(f"postgresql://{role}@***:")
    privileges = _query(
        production.admin_dsn,
        f"SELECT has_table_privilege('{role}', 'app.posts', 'SELECT'), "
        + ", ".join(
            f"has_table_privilege('{role}', 'app.{t}', '{p}')"
            for t in ("accounts", "posts", "post_reads")
            for p in ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
        )
        + f", has_database_privilege('{role}', current_database(), 'CREATE')"
        + f", has_database_privilege('{role}', current_database(), 'TEMP')",
    )[0]
    assert privileges[0] is True and not any(privileges[1:])
    with pytest.raises(Exception, match="permission denied"):
        _query(production.reader_dsn, "INSERT INTO app.chats VALUES (-1, 'dm', NULL, now())")
    assert sampled.tables_before == sampled.tables_after  # counts and content hashes


def test_a_write_fails_inside_the_samplers_transaction(production: Any) -> None:
    # even a superuser cannot write through the sampler's session: the server refuses
    with read_only_session(production.admin_dsn, [], 30.0) as session:
        assert session.scalar("SELECT current_setting('transaction_read_only')") == "on"
        assert session.scalar("SELECT current_setting('transaction_isolation')") == (
            "repeatable read"
        )
        with pytest.raises(SampleError, match="cannot execute INSERT in a read-only transaction"):
            session.fetch("INSERT INTO app.chats VALUES (-2, 'dm', NULL, now()) RETURNING id")
    with (
        read_only_session(production.admin_dsn, [], 30.0) as session,
        pytest.raises(SampleError, match="read-only transaction"),
    ):
        session.execute("CREATE TEMP TABLE leak AS SELECT body FROM app.posts")
    with (
        read_only_session(production.admin_dsn, [], 0.2) as session,
        pytest.raises(SampleError, match="statement timeout"),
    ):
        session.fetch("SELECT pg_sleep(3)")
    assert _query(production.admin_dsn, "SELECT count(*) FROM app.chats WHERE id < 0")[0][0] == 0


def test_the_sampler_refuses_without_the_salt(production: Any, tmp_path: Path) -> None:
    out = tmp_path / "metrics.json"
    for env in ({"ANONYMIZATION_SALT": ""}, {"ANONYMIZATION_SALT": "too-short"}):
        result = CliRunner().invoke(
            sample, ["--dsn", production.reader_dsn, "--out", str(out)], env=env
        )
        assert result.exit_code == 1
        assert result.stderr.startswith("error: ANONYMIZATION_SALT")
        assert result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # neither metrics nor audit


def test_small_buckets_are_merged_and_small_categories_suppressed(
    production: Any, sampled: Any
) -> None:
    metrics = _load(sampled.metrics_path)["histograms"]
    # production's large groups per bucket, straight from the database (the harness may look)
    edges = [e for e in MEMBER_EDGES if e >= 21]
    sizes = _query(
        production.admin_dsn,
        "SELECT width_bucket(n::float8, ARRAY" + str([float(e) for e in edges]) + ")::int, "
        "count(*) FROM (SELECT chat_id, count(*) AS n FROM app.chat_members GROUP BY 1) AS m "
        "WHERE n >= 21 GROUP BY 1",
    )
    raw = {edges[i - 1]: n for i, n in sizes}
    small = [lo for lo, n in raw.items() if 0 < n < K]
    assert small, "production should hold a bucket of large groups with fewer than K members"
    published = metrics["large_group_members"]["buckets"]
    assert all(b["count"] >= K for b in published)
    assert sum(b["count"] for b in published) == sum(raw.values()) == 300
    for lo in small:
        assert not any(b["lo"] == lo and b["count"] == raw[lo] for b in published)
        assert any(b["lo"] <= lo and (b["hi"] is None or lo < b["hi"]) for b in published)
    assert metrics["large_group_members"]["merged_buckets"] >= 1
    # three posts of a type the contract does not know: suppressed, never counted or named
    polls = _query(production.admin_dsn, "SELECT count(*) FROM app.posts WHERE post_type='poll'")
    assert polls[0][0] == 3
    assert metrics["message_types"]["suppressed"] == ["OTHER"]
    assert "OTHER" not in metrics["message_types"]["counts"]
    for entry in metrics.values():
        counts = entry.get("counts", {}).values() or [b["count"] for b in entry.get("buckets", [])]
        assert all(n >= K for n in counts)


def test_the_output_scan_refuses_planted_production_strings(
    sampled: Any, production_strings: Any
) -> None:
    doc = _load(sampled.metrics_path)
    t = Thresholds(heavy_min_messages=3000)
    keys = structural_keys(t) | known_strings(t)
    values = known_strings(t) | {FORMAT, "laplace", "none", NEIGHBOURING}
    scan_output(doc, keys, values)  # the real output passes
    email, name, phone = (
        production_strings.emails[0],
        production_strings.full_names[0],
        production_strings.phones[0],
    )
    cases: list[tuple[Any, str]] = [
        (
            {**doc, "histograms": {**doc["histograms"], "captions": {"counts": {email: 12}}}},
            "email",
        ),
        ({**doc, "source": {"schema": name}}, "unknown string value"),
        ({**doc, "format": phone}, "phone number"),
        ({**doc, "format": "Card 4111 1111 1111 1111"}, "payment card number"),
    ]
    for planted, reason in cases:
        with pytest.raises(PrivacyError, match=reason) as err:
            scan_output(planted, keys, values)
        message = str(err.value)
        assert email not in message and name not in message and phone not in message


def test_the_audit_manifest(production: Any, sampled: Any) -> None:
    audit, metrics = _load(sampled.audit_path), _load(sampled.metrics_path)
    assert audit["salt_fingerprint"] == metrics["privacy"]["salt_fingerprint"]
    assert audit["salt_fingerprint"] == fingerprint(SALT.encode())
    assert SALT not in sampled.audit_path.read_text() + sampled.metrics_path.read_text()
    assert (audit["min_bucket_count"], audit["epsilon"]) == (K, None)
    assert audit["transaction"]["read_only"] is True
    assert "127.0.0.1" not in audit["dsn"] and "***" in audit["dsn"]
    assert [q["name"] for q in audit["queries"]] == [
        "conversations", "messages", "attachments", "gaps", "receipts", "members", "users"
    ]  # fmt: skip
    assert all(re.fullmatch(r"[0-9a-f]{64}", q["sql_sha256"]) for q in audit["queries"])
    posts = _query(production.admin_dsn, "SELECT count(*) FROM app.posts")[0][0]
    scanned = {q["name"]: q["rows_scanned"] for q in audit["queries"]}
    assert scanned["messages"] >= posts and scanned["users"] == 500
    assert audit["rows_scanned"] == sum(scanned.values())
    digest = hashlib.sha256(sampled.metrics_path.read_bytes()).hexdigest()
    assert audit["output"] == {"file": "shape-metrics.json", "sha256": digest}
    assert "read-only queries" in sampled.stdout


def test_a_mapped_column_that_is_missing_is_named(production: Any, tmp_path: Path) -> None:
    mapping = json.loads(production.mapping_path.read_text())
    mapping["tables"]["messages"]["columns"]["createdAt"] = "sent_at"
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(mapping))
    out = tmp_path / "metrics.json"
    result = CliRunner().invoke(
        sample,
        ["--dsn", production.reader_dsn, "--mapping", str(path), "--out", str(out)],
        env={"ANONYMIZATION_SALT": SALT},
    )
    assert result.exit_code == 1
    assert "messages.createdAt (mapped to app.posts.sent_at) is not visible" in result.stderr
    assert not out.exists()


def test_laplace_noise_states_its_epsilon_split(production: Any, tmp_path: Path) -> None:
    out = tmp_path / "noisy.json"
    args = ["--dsn", production.reader_dsn, "--mapping", str(production.mapping_path)]
    args += ["--heavy-min-messages", "3000", "--epsilon", "2", "--window-days", "3"]
    result = CliRunner().invoke(
        sample, [*args, "--out", str(out)], env={"ANONYMIZATION_SALT": SALT}
    )
    assert result.exit_code == 0, result.output
    noisy = _load(out)
    privacy = noisy["privacy"]
    assert privacy["mechanism"] == "laplace" and privacy["epsilon"] == 2
    assert set(privacy["epsilon_split"]) == set(noisy["histograms"])
    assert sum(privacy["epsilon_split"].values()) == pytest.approx(2.0)
    share = 2.0 / len(noisy["histograms"])
    assert privacy["noise_scale"]["message_types"] == pytest.approx(1.0 / share)
    assert privacy["noise_scale"]["inter_arrival_seconds"] == pytest.approx(3.0 / share)
    assert _load(out.with_name("noisy.audit.json"))["epsilon_split"] == privacy["epsilon_split"]
    # the harness counts the same window exactly; the published count is near it, not it
    start, end = noisy["window"]["start"], noisy["window"]["end"]
    exact = _query(
        production.admin_dsn,
        f"SELECT count(*) FROM app.posts WHERE post_type = 'text' "
        f"AND created_at >= '{start}' AND created_at < '{end}'",
    )[0][0]
    published = noisy["histograms"]["message_types"]["counts"]["TEXT"]
    assert abs(published - exact) < 40 * privacy["noise_scale"]["message_types"]
    counts = [b["count"] for h in noisy["histograms"].values() for b in h.get("buckets", [])]
    assert all(n >= K for n in counts)  # with noise, small buckets are dropped, not merged
