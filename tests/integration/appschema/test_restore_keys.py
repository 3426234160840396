"""The app's keys after a mapped load are what its migrations made, whatever their kind: a primary
key or unique constraint is rebuilt as its unique index and attached to it (ADD CONSTRAINT …
USING INDEX), one that cannot be (deferrable) is added as the migrations wrote it, and a resume
that finds a key's index built but not yet attached attaches that very index."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from support.paths import SYNTHGEN
from support.pg import query, run_sql

MakeSchema = Callable[..., tuple[str, Path]]


def _load(dataset: Path, dsn: str, mapping: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["load", str(dataset), "--dsn", dsn, "--mapping", str(mapping), "--jobs", "2",
            "--quiet", "--json", *extra]  # fmt: skip
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=600)


def _keys(dsn: str, schema: str) -> set[tuple[object, ...]]:
    """Every primary key and unique constraint with its index, as the catalog describes them."""
    rows = query(
        dsn,
        "SELECT con.conname, con.contype, con.condeferrable, con.condeferred, "
        "pg_get_constraintdef(con.oid), pg_get_indexdef(con.conindid), i.indisprimary, "
        "i.indimmediate, ic.relname FROM pg_constraint con "
        "JOIN pg_namespace n ON n.oid = con.connamespace "
        "JOIN pg_index i ON i.indexrelid = con.conindid "
        "JOIN pg_class ic ON ic.oid = con.conindid "
        f"WHERE n.nspname = '{schema}' AND con.contype IN ('p', 'u')",
    )
    return {tuple(r) for r in rows}


def test_every_kind_of_key_comes_back_as_the_migrations_made_it(
    app_dataset: Path, pg_dsn: str, app_schema: MakeSchema, tmp_path: Path
) -> None:
    schema, mapping = app_schema("app_keys", tmp=tmp_path)
    run_sql(
        pg_dsn,
        # deferrable: added back by ADD CONSTRAINT, not through a plain unique index
        f'ALTER TABLE {schema}."ConversationMember" ADD CONSTRAINT "cm_pair_deferred" '
        'UNIQUE ("userId", "conversationId") DEFERRABLE INITIALLY DEFERRED',
        # a covering unique constraint with a storage parameter: through its index
        f'ALTER TABLE {schema}."Attachment" ADD CONSTRAINT "att_covering" UNIQUE ("id") '
        'INCLUDE ("messageId") WITH (fillfactor = 70)',
    )
    before = _keys(pg_dsn, schema)
    assert len(before) == 9  # the example's 7 primary keys (its uniques are indexes), 2 added
    assert ("cm_pair_deferred", "u", True, True) in {r[:4] for r in before}

    done = _load(app_dataset, pg_dsn, mapping)
    assert done.returncode == 0, done.stderr
    assert _keys(pg_dsn, schema) == before
    counts = json.loads(done.stdout)["counts"]
    assert counts["ConversationMember"] > 0
    duplicates = query(
        pg_dsn,
        'SELECT count(*) FROM (SELECT "userId", "conversationId" FROM '
        f'{schema}."ConversationMember" GROUP BY 1, 2 HAVING count(*) > 1) d',
    )
    assert duplicates[0][0] == 0


def test_a_resume_attaches_a_key_whose_index_was_built_before_the_stop(
    app_dataset: Path, pg_dsn: str, app_schema: MakeSchema, tmp_path: Path
) -> None:
    schema, mapping = app_schema("app_attach", tmp=tmp_path)
    before = _keys(pg_dsn, schema)
    bad = "Message_content_fkey"  # the data breaks it: the load stops after the keys
    run_sql(
        pg_dsn,
        f'ALTER TABLE {schema}."Message" ADD CONSTRAINT "{bad}" FOREIGN KEY '
        f'("content") REFERENCES {schema}."User"(email)',
    )
    failed = _load(app_dataset, pg_dsn, mapping)
    assert failed.returncode == 1 and bad in failed.stderr, failed.stderr
    # the state of a load stopped between a key's index build and its attachment: the index
    # is there, the constraint (and the foreign keys that hang on it) are not
    run_sql(
        pg_dsn,
        f'ALTER TABLE {schema}."Message" DROP CONSTRAINT "{bad}"',
        f"DELETE FROM synthgen_{schema}.synthgen_saved_objects WHERE name = '{bad}'",
        f'ALTER TABLE {schema}."Message" DROP CONSTRAINT "Message_pkey" CASCADE',
        f'CREATE UNIQUE INDEX "Message_pkey" ON {schema}."Message" (id)',
    )
    built = query(pg_dsn, f"SELECT '{schema}.\"Message_pkey\"'::regclass::oid")[0][0]

    resumed = _load(app_dataset, pg_dsn, mapping, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["shards_loaded"] == 0
    assert _keys(pg_dsn, schema) == before
    attached = query(
        pg_dsn,
        "SELECT con.conindid FROM pg_constraint con JOIN pg_namespace n ON "
        f"n.oid = con.connamespace WHERE n.nspname = '{schema}' AND con.conname = 'Message_pkey'",
    )
    assert attached == [(built,)]  # the very index the stopped load had built
    fks = query(
        pg_dsn,
        "SELECT count(*) FILTER (WHERE convalidated), count(*) FROM pg_constraint c JOIN "
        f"pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = '{schema}' AND contype = 'f'",
    )
    assert fks == [(9, 9)]
