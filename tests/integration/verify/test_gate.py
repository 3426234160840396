"""The index gate against a real server: plans change as the index rationale says, the gate
decides, a useless index is NO-GO with mitigations, and a failed concurrent build is cleaned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.errors import VerifyError
from synthgen.postgres.connect import connect, execute, fetch_all
from synthgen.verify.baseline import run_baseline
from synthgen.verify.compare import compare_baselines
from synthgen.verify.indexes import DEFAULT_APPLY, DEFAULT_ROLLBACK, run_script
from synthgen.verify.queries import load_queries

Loaded = tuple[str, str, Path]


def _baseline(
    dsn: str, schema: str, label: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    conn = connect(dsn, autocommit=True)
    try:
        return run_baseline(conn, schema, label, load_queries(), runs=5, parameters=params)
    finally:
        conn.close()


def _result(doc: dict[str, Any], query: str, cls: str) -> dict[str, Any]:
    return next(r for r in doc["results"] if r["query"] == query and r["class"] == cls)


def test_phase2_indexes_remove_the_sort_and_the_gate_says_go(loaded: Loaded) -> None:
    dsn, schema, dataset = loaded
    run_script(dsn, schema, DEFAULT_ROLLBACK)
    pre = _baseline(dsn, schema, "pre")
    params = pre["parameters"]
    assert set(params["conversation"]) == {"median", "p95", "heavy"}
    assert params["conversation"]["heavy"]["messages"] >= 1000
    assert params["user"]["top1"]["memberships"] > params["user"]["median"]["memberships"]
    assert (
        pre["dataset_sha256"]
        == json.loads((dataset / "manifest.json").read_text())["dataset_sha256"]
    )
    q1_pre = _result(pre, "q1", "heavy")
    assert q1_pre["plan"]["sort_count"] == 1
    assert "idx_messages_conversation_created_desc" not in json.dumps(q1_pre["plan"])

    steps = run_script(dsn, schema, DEFAULT_APPLY)
    built = {s.index: s for s in steps if s.index}
    assert set(built) == {
        "idx_messages_conversation_created_desc",
        "idx_conversation_users_user_active",
        "idx_conversations_updated_desc",
    }
    assert all(s.size_bytes and s.size_bytes > 0 for s in built.values())
    verification = next(s for s in steps if s.index is None)
    assert [row[1] for row in verification.rows] == [True, True, True]  # every index valid

    post = _baseline(dsn, schema, "post", params)
    assert post["parameters"] == params
    q1_post = _result(post, "q1", "heavy")
    assert q1_post["plan"]["sort_count"] == 0
    assert q1_post["plan"]["indexes_used"]["messages"] == ["idx_messages_conversation_created_desc"]
    q3_post = _result(post, "q3", "top1")
    assert "idx_conversation_users_user_active" in json.dumps(q3_post["plan"]["indexes_used"])

    # server time: at this tiny scale the driver's ~1 ms per call (and its jitter on a shared
    # machine) hides what the plan change did; the default client metric is exercised below
    result = compare_baselines(pre, post, metric="explain")
    heavy = next(
        c
        for c in result.changes
        if c.query == "q1" and c.param_class == "heavy" and c.plan_mode == "custom"
    )
    assert heavy.speedup >= 5
    assert result.sorts_eliminated_share > 0.6, [
        (c.query, c.param_class, c.plan_change) for c in result.changes
    ]
    assert result.decision == "GO", result.reasons


def test_useless_index_is_no_go_with_mitigations(loaded: Loaded, tmp_path: Path) -> None:
    dsn, schema, _ = loaded
    run_script(dsn, schema, DEFAULT_ROLLBACK)
    pre = _baseline(dsn, schema, "pre")
    useless = tmp_path / "useless.sql"
    useless.write_text(
        "-- an index no hot-path query can use\n"
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_messages_content" '
        'ON "messages" (left("content", 20));\n'
    )
    run_script(dsn, schema, useless)
    try:
        post = _baseline(dsn, schema, "post", pre["parameters"])
    finally:
        conn = connect(dsn, autocommit=True)
        execute(conn, f'DROP INDEX IF EXISTS "{schema}"."idx_messages_content"')
        conn.close()
    result = compare_baselines(pre, post)
    assert result.decision == "NO-GO"
    assert any("sorts were eliminated" in r for r in result.reasons)
    assert any(
        m.startswith("Q1 message history (heavy, custom plan) still sorts")
        for m in result.mitigations
    )


def test_failed_concurrent_build_is_detected_and_cleaned(loaded: Loaded, tmp_path: Path) -> None:
    dsn, schema, _ = loaded
    bad = tmp_path / "bad.sql"
    bad.write_text(
        'CREATE UNIQUE INDEX CONCURRENTLY "idx_messages_conversation_unique" '
        'ON "messages" ("conversationId");\n'
    )
    with pytest.raises(VerifyError) as info:
        run_script(dsn, schema, bad)
    message = str(info.value)
    assert "index idx_messages_conversation_unique failed to build" in message
    assert "could not create unique index" in message
    assert "left idx_messages_conversation_unique INVALID, and it was dropped" in message
    conn = connect(dsn, autocommit=True)
    try:
        left = fetch_all(
            conn,
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
            "c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
            (schema, "idx_messages_conversation_unique"),
        )
    finally:
        conn.close()
    assert left[0][0] == 0


def test_cli_baseline_compare_and_indexes(loaded: Loaded, tmp_path: Path) -> None:
    dsn, schema, _ = loaded
    runner = CliRunner()
    common = ["--dsn", dsn, "--schema", schema]
    assert runner.invoke(cli, ["indexes", "rollback", *common, "--quiet"]).exit_code == 0
    pre, post = tmp_path / "baseline-pre.json", tmp_path / "baseline-post.json"
    r = runner.invoke(
        cli,
        [
            "verify",
            "baseline",
            "--label",
            "pre",
            "--runs",
            "3",
            "--out",
            str(pre),
            *common,
            "--quiet",
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["indexes", "apply", *common, "--json", "--quiet"])
    assert r.exit_code == 0, r.output
    assert len([s for s in json.loads(r.stdout) if s["index"]]) == 3
    r = runner.invoke(
        cli,
        [
            "verify",
            "baseline",
            "--label",
            "post",
            "--runs",
            "3",
            "--out",
            str(post),
            *common,
        ],
    )
    assert r.exit_code == 0
    # without --quiet it counts its way through every query x class x plan mode
    counted = [line for line in r.stderr.splitlines() if line.startswith("post [")]
    assert len(counted) == 24, r.stderr
    assert counted[0] == "post [1/24]: Q1 message history (median, custom plan)"
    assert counted[-1].startswith("post [24/24]: Q5 conversation previews (")
    # post reused the pre baseline's parameters (found beside --out)
    assert json.loads(post.read_text())["parameters"] == json.loads(pre.read_text())["parameters"]
    r = runner.invoke(
        cli, ["verify", "compare", str(pre), str(pre), "--json", str(tmp_path / "c.json")]
    )
    assert r.exit_code == 3  # nothing changed: NO-GO
    assert "decision: NO-GO" in r.output
    other = json.loads(post.read_text())
    other["dataset_sha256"] = "another"
    (tmp_path / "other.json").write_text(json.dumps(other))
    r = runner.invoke(cli, ["verify", "compare", str(pre), str(tmp_path / "other.json")])
    assert r.exit_code == 1 and "different datasets" in r.stderr
