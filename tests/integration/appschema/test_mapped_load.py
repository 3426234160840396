"""The dataset into an application's own schema (the prisma-chat example's migrations), through
the installed command: exact counts, intact foreign keys, the catalog as the migrations made it,
ids in the app's formats — and every bad mapping refused before anything is written."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from support.paths import EXAMPLE, SYNTHGEN
from support.pg import query, run_sql
from synthgen.appschema.catalog import saved_objects
from synthgen.cli import cli
from synthgen.postgres.connect import connect

MakeSchema = Callable[..., tuple[str, Path]]
CUID = re.compile(r"^c[0-9a-z]{24}$")


def synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=600)


def _load(dataset: Path, dsn: str, mapping: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return synthgen("load", str(dataset), "--dsn", dsn, "--mapping", str(mapping), "--jobs", "2",
                    "--quiet", *extra)  # fmt: skip


def _catalog(dsn: str, schema: str) -> set[tuple[str, str, str]]:
    conn = connect(dsn, autocommit=True)
    try:
        tables = [
            r[0]
            for r in query(dsn, f"SELECT tablename FROM pg_tables WHERE schemaname = '{schema}'")
        ]
        return {(o.kind, o.name, o.definition) for o in saved_objects(conn, schema, tables)}
    finally:
        conn.close()


def test_the_example_loads_with_exact_counts_and_intact_keys(
    app_dataset: Path, pg_dsn: str, app_schema: MakeSchema, tmp_path: Path
) -> None:
    schema, mapping = app_schema("app_example", tmp=tmp_path)
    migrated = _catalog(pg_dsn, schema)
    assert len(migrated) == 7 + 8 + 9  # primary keys, indexes, foreign keys of schema.sql

    plan = synthgen("load", str(app_dataset), "--dsn", pg_dsn, "--mapping", str(mapping), "--plan")
    assert plan.returncode == 0, plan.stderr
    assert "idempotencyKey (text) <- fill {'unique': 'idem_'}" in plan.stdout
    assert 'type (app_example."MessageType") <- type (enum: DOCUMENT->FILE)' in plan.stdout
    assert (
        query(pg_dsn, f'SELECT count(*) FROM {schema}."Message"')[0][0] == 0
    )  # --plan wrote nothing

    loaded = _load(app_dataset, pg_dsn, mapping, "--json")
    assert loaded.returncode == 0, loaded.stderr
    report = json.loads(loaded.stdout)
    counts = json.loads((app_dataset / "manifest.json").read_text())["counts"]
    assert report["counts"] == {
        "User": counts["users"],
        "Conversation": counts["conversations"],
        "ConversationMember": counts["conversation_users"],
        "Message": counts["messages"],
        "Attachment": counts["attachments"],
        "MessageRead": counts["read_receipts"],
        "MessageDelivery": 2 * counts["read_receipts"],
    }
    for table, rows in report["counts"].items():
        assert query(pg_dsn, f'SELECT count(*) FROM {schema}."{table}"')[0][0] == rows
    # the catalog is what the migrations made; every foreign key is there and validated
    assert _catalog(pg_dsn, schema) == migrated
    fks = query(pg_dsn, "SELECT count(*), bool_and(convalidated) FROM pg_constraint c "
                f"JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = '{schema}' "
                "AND contype = 'f'")  # fmt: skip
    assert fks[0] == (9, True)
    # the app schema holds only the app's tables; the audit trail is beside it
    tables = {
        r[0]
        for r in query(pg_dsn, f"SELECT tablename FROM pg_tables WHERE schemaname = '{schema}'")
    }
    assert tables == {"User", "Conversation", "ConversationMember", "Message", "Attachment",
                      "MessageRead", "MessageDelivery"}  # fmt: skip
    assert query(pg_dsn, f"SELECT status FROM synthgen_{schema}.synthgen_loads")[0][0] == "complete"
    # rows land in arrival order, as production's heap (the default --order arrival)
    correlation = query(
        pg_dsn,
        f"SELECT correlation FROM pg_stats WHERE schemaname = '{schema}' "
        "AND tablename = 'Message' AND attname = 'createdAt'",
    )
    assert correlation[0][0] >= 0.99
    # ids: cuid-shaped, unique (primary keys held), in time order for messages
    ids = query(pg_dsn, f'SELECT id FROM {schema}."Message" ORDER BY "createdAt" LIMIT 2000')
    assert all(CUID.match(i) for (i,) in ids)
    assert [i[:9] for (i,) in ids] == sorted(i[:9] for (i,) in ids)
    # enum labels, fills and derived columns
    types = dict(query(pg_dsn, f'SELECT type::text, count(*) FROM {schema}."Message" GROUP BY 1'))
    assert "FILE" in types and "DOCUMENT" not in types
    joined = query(
        pg_dsn,
        f'SELECT count(*) FROM {schema}."Conversation" c JOIN {schema}."Message" m '
        'ON m.id = c."lastMessageId" AND m."createdAt" = c."lastMessageAt"',
    )
    assert joined[0][0] == counts["conversations"]
    urls = query(pg_dsn, f'SELECT bool_and(url LIKE \'https://files.example.com/%\' AND url LIKE '
                 f'\'%\' || filename) FROM {schema}."Attachment"')  # fmt: skip
    assert urls[0][0] is True
    states = dict(
        query(pg_dsn, f'SELECT status::text, count(*) FROM {schema}."MessageDelivery" GROUP BY 1')
    )
    assert states == {"DELIVERED": counts["read_receipts"], "READ": counts["read_receipts"]}
    # the unread anti-join the app runs works on these ids
    unread = query(
        pg_dsn,
        f'SELECT count(*) FROM {schema}."ConversationMember" cm JOIN {schema}."Message" m '
        f'ON m."conversationId" = cm."conversationId" LEFT JOIN {schema}."MessageRead" mr '
        'ON mr."messageId" = m.id AND mr."userId" = cm."userId" WHERE mr.id IS NULL',
    )
    assert unread[0][0] > 0

    _index_gate_on_the_app_schema(pg_dsn, schema, mapping, tmp_path)

    again = _load(app_dataset, pg_dsn, mapping)
    assert again.returncode == 1 and "already holds this dataset" in again.stderr
    resumed = _load(app_dataset, pg_dsn, mapping, "--resume", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["shards_loaded"] == 0
    replaced = _load(app_dataset, pg_dsn, mapping, "--replace", "--json")
    assert replaced.returncode == 0, replaced.stderr
    assert json.loads(replaced.stdout)["counts"] == report["counts"]
    assert _catalog(pg_dsn, schema) == migrated


def _index_gate_on_the_app_schema(dsn: str, schema: str, mapping: Path, out: Path) -> None:
    """The application's own queries and index script through the whole gate: GO."""
    queries, indexes = EXAMPLE / "queries", EXAMPLE / "phase-2.sql"
    common = ["--dsn", dsn, "--mapping", str(mapping), "--queries", str(queries), "--runs", "5",
              "--explain-runs", "3", "--quiet"]  # fmt: skip
    pre = synthgen("verify", "baseline", "--label", "pre", "--out", str(out / "pre.json"), *common)
    assert pre.returncode == 0, pre.stderr
    doc = json.loads((out / "pre.json").read_text())
    heavy = doc["parameters"]["conversation"]["heavy"]
    assert CUID.match(heavy["id"]) and heavy["messages"] >= 1000
    rows = query(dsn, f'SELECT count(*) FROM {schema}."Message" WHERE "conversationId" = '
                 f"'{heavy['id']}'")  # fmt: skip
    assert rows[0][0] == heavy["messages"]  # the drawn id is the app's id of that room
    member = doc["parameters"]["user"]["top1"]
    assert (
        query(
            dsn,
            f'SELECT count(*) FROM {schema}."ConversationMember" WHERE "userId" = '
            f"'{member['id']}' AND \"conversationId\" = '{member['conversation']}'",
        )[0][0]
        == 1
    )
    applied = synthgen("indexes", "apply", "--dsn", dsn, "--schema", schema, "--file",
                       str(indexes), "--quiet")  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    post = synthgen("verify", "baseline", "--label", "post", "--out", str(out / "post.json"),
                    *common)  # fmt: skip
    assert post.returncode == 0, post.stderr
    # at dev x 0.05 most of these queries take well under a millisecond on the server, so
    # client timings are mostly the driver's round trip and swing with the machine's load;
    # the server's own time decides here. The client-timed verdict is not asserted (it is the
    # machine's, not the indexes'); what the plans fix is: every sort gone in it too
    compared = synthgen("verify", "compare", str(out / "pre.json"), str(out / "post.json"),
                        "--metric", "explain")  # fmt: skip
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert "decision: GO" in compared.stdout
    assert "sorts 8 → 0 (100% of those before eliminated)" in compared.stdout
    synthgen("verify", "compare", str(out / "pre.json"), str(out / "post.json"),
             "--json", str(out / "client.json"))  # fmt: skip
    client = json.loads((out / "client.json").read_text())
    assert (client["metric"], client["sorts_before"], client["sorts_after"]) == ("client", 8, 0)
    rolled = synthgen("indexes", "rollback", "--dsn", dsn, "--schema", schema, "--file",
                      str(EXAMPLE / "phase-2-rollback.sql"), "--quiet")  # fmt: skip
    assert rolled.returncode == 0, rolled.stderr


def _drop(table: str) -> Callable[[dict[str, Any]], None]:
    def edit(mapping: dict[str, Any]) -> None:
        mapping["tables"][table]["name"] = "NoSuchTable"

    return edit


@pytest.mark.parametrize(
    ("name", "edit", "ddl", "message"),
    [
        ("bad_table", _drop("messages"), None,
         'tables.messages: table bad_table.NoSuchTable does not exist (run your migrations first'),
        ("bad_column", lambda m: m["tables"]["users"]["columns"].update(displayName="nickname"),
         None, "tables.users.columns.displayName: User has no column 'nickname'"),
        ("bad_enum", lambda m: m["values"]["messages.type"].clear(), None,
         'messages.type: value DOCUMENT has no label in bad_enum."MessageType"'),
        ("bad_type", lambda m: m["tables"]["users"]["columns"].update(email="isBot"), None,
         "users.email -> isBot: boolean cannot hold the contract's text"),
        ("bad_length", None, 'ALTER TABLE "Message" ALTER COLUMN content TYPE varchar(100)',
         "messages.content -> content: character varying(100) cannot hold a"),
        ("bad_not_null", None, 'ALTER TABLE "Message" ADD COLUMN "traceId" uuid NOT NULL',
         'messages.traceId (uuid) is NOT NULL without a default and the contract does not '
         'produce it; give it a fill in tables.messages.fill'),
        ("bad_unique",
         lambda m: m["tables"]["messages"]["fill"].update(idempotencyKey={"value": "k"}), None,
         "tables.messages.fill.idempotencyKey: idempotencyKey is unique; one value for every "
         "row would collide"),
    ],
)  # fmt: skip
def test_bad_mappings_are_refused_before_anything_is_written(
    app_dataset: Path, pg_dsn: str, app_schema: MakeSchema, tmp_path: Path,
    name: str, edit: Any, ddl: str | None, message: str,
) -> None:  # fmt: skip
    schema, mapping = app_schema(name, edit, tmp=tmp_path)
    if ddl:
        run_sql(
            pg_dsn,
            f"SET search_path = {schema}; {ddl}".split("; ")[1].replace(
                '"Message"', f'{schema}."Message"'
            ),
        )
    before = _catalog(pg_dsn, schema)
    args = ["load", str(app_dataset), "--dsn", pg_dsn, "--mapping", str(mapping), "--quiet"]
    if name == "bad_table":  # the installed command, as pipelines run it
        result = synthgen(*args)
        code, stderr = result.returncode, result.stderr
    else:  # the same code in-process, faster
        invoked = CliRunner().invoke(cli, args)
        code, stderr = invoked.exit_code, invoked.stderr
    assert code == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert message in lines[0]
    assert query(pg_dsn, f'SELECT count(*) FROM {schema}."User"')[0][0] == 0
    assert (
        query(pg_dsn, f"SELECT count(*) FROM pg_namespace WHERE nspname = 'synthgen_{schema}'")[0][
            0
        ]
        == 0
    )
    assert _catalog(pg_dsn, schema) == before


def test_mapping_init_writes_a_mapping_that_plans(
    app_dataset: Path, pg_dsn: str, app_schema: MakeSchema, tmp_path: Path
) -> None:
    schema, _ = app_schema("app_init", tmp=tmp_path)
    out = tmp_path / "init.json"
    made = synthgen("mapping", "init", "--dsn", pg_dsn, "--schema", schema, "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert "matched   read_receipts -> MessageRead" in made.stdout
    assert "unmatched table MessageDelivery of the schema: no contract table" in made.stdout
    mapping = json.loads(out.read_text())
    assert mapping["tables"]["users"] == {"name": "User", "columns": {"displayName": "name"},
                                          "id": "cuid"}  # fmt: skip
    assert mapping["tables"]["conversation_users"]["id"] == {"column": "id", "format": "cuid"}
    assert mapping["values"]["conversations.type"] == {"DIRECT": "DIRECT_MESSAGE",
                                                       "GROUP": "GROUP_CHAT"}  # fmt: skip
    plan = synthgen("load", str(app_dataset), "--dsn", pg_dsn, "--mapping", str(out), "--plan")
    assert plan.returncode == 0, plan.stderr
    assert (
        "updatedAt (timestamp(3) without time zone) <- fill {'from': 'createdAt'} (automatic)"
        in plan.stdout
    )
    again = synthgen("mapping", "init", "--dsn", pg_dsn, "--schema", schema, "--out", str(out))
    assert again.returncode == 1 and "exists; pass --force" in again.stderr
    empty = synthgen("mapping", "init", "--dsn", pg_dsn, "--schema", "no_such_schema",
                     "--out", str(tmp_path / "x.json"))  # fmt: skip
    assert empty.returncode == 1 and "has no tables (run your migrations first)" in empty.stderr


# an end-to-end walk (one_server: the first pass, PostgreSQL 15): on the embedded PostgreSQL 18
# the example's index measured its small rooms' Q1 / Q2 0.2-0.5 ms slower after it (every class
# and plan mode, not noise), and the targeted decision fell to 20-30 %
@pytest.mark.one_server
def test_run_on_the_app_schema(app_dataset: Path, pg_dsn: str, tmp_path: Path) -> None:
    """`synthgen run --mapping --migrations --queries --indexes`: the whole workflow, with the
    application's migrations run into a scratch schema first."""
    mapping = json.loads((EXAMPLE / "mapping.json").read_text())
    mapping["schema"] = "app_run"
    (tmp_path / "mapping.json").write_text(json.dumps(mapping))
    # judged on the queries whose sort the example's indexes remove (Q1, Q2), at dev x 0.2 with
    # 10 runs: each query's improvement is the geometric mean over its room classes, where only
    # the heavy room's sort costs much (at 0.1 and 5 runs Q1 measured 21-25 % on a loaded
    # machine, 60 % on a quiet one); at 0.02 the heavy room is too small, and the average rule over
    # every query said NO-GO once on PostgreSQL 18 (sub-millisecond queries the indexes do not
    # touch, within their noise) -- see test_run_loadtest.py for the figures
    # and only on them: a non-targeted query of a few ms that its noise on a loaded 2-core
    # machine slowed by over the 1 ms floor turned the targeted decision NO-GO in CI
    indexes = tmp_path / "phase-2.sql"
    indexes.write_text("-- targets: Q1, Q2\n" + (EXAMPLE / "phase-2.sql").read_text())
    queries = tmp_path / "queries"
    queries.mkdir()
    for name in ("q1_history_page.sql", "q2_older_page.sql"):
        shutil.copy(EXAMPLE / "queries" / name, queries / name)
    try:
        result = synthgen(
            "run", "--band", "dev", "--scale", "0.2", "--seed", "app-run", "--dsn", pg_dsn,
            "--out", str(tmp_path / "run"), "--mapping", str(tmp_path / "mapping.json"),
            "--migrations", str(EXAMPLE / "schema.sql"), "--queries", str(queries),
            "--indexes", str(indexes), "--runs", "10", "--workers", "2",
        )  # fmt: skip
        state = json.loads((tmp_path / "run" / "run-state.json").read_text())
        assert list(state["done"])[:4] == ["generate", "validate", "migrate", "load"], result.stderr
        compare = json.loads((tmp_path / "run" / "compare.json").read_text())
        assert result.returncode == 0, result.stderr
        assert compare["decision"] == "GO"
        counts = json.loads((tmp_path / "run" / "dataset" / "manifest.json").read_text())["counts"]
        got = query(pg_dsn, 'SELECT count(*) FROM app_run."Message"')[0][0]
        assert got == counts["messages"]
        built = query(pg_dsn, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'app_run' AND "
                      "indexname = 'Message_conversationId_createdAt_idx'")  # fmt: skip
        assert built[0][0] == 1
        no_queries = synthgen("run", "--band", "dev", "--mapping", str(tmp_path / "mapping.json"))
        assert no_queries.returncode == 2 and "--mapping needs --queries and --indexes" in (
            no_queries.stderr
        )
    finally:
        run_sql(pg_dsn, "DROP SCHEMA IF EXISTS app_run CASCADE",
                "DROP SCHEMA IF EXISTS synthgen_app_run CASCADE")  # fmt: skip
