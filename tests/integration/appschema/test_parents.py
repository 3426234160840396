"""Parents the contract does not have: a multi-tenant schema's NOT NULL team column on every
table, pointing at a team table the contract does not model. The mapping declares the teams'
rows; the load writes them first and spreads every team column over them (a room's posts share
its team), through the installed command on a real PostgreSQL."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import duckdb

from support.paths import SYNTHGEN
from support.pg import query, run_sql
from synthgen.appschema.migrate import run_migrations

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "go-chat"
SCHEMA = "go_teams"
TEAMS = 12


def _synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=900)


def _mapping(tmp: Path) -> Path:
    mapping: dict[str, Any] = json.loads((EXAMPLE / "mapping.json").read_text())
    mapping["schema"] = SCHEMA
    mapping["parents"] = {
        "teams": {"table": "teams", "rows": TEAMS, "id": "text",
                  "fill": {"name": {"unique": "team-"}}}
    }  # fmt: skip
    mapping["tables"]["users"]["fill"]["teamid"] = {"parent": "teams", "spread": "uniform"}
    # a user's last activity: their last sent post (a counter the application keeps)
    mapping["tables"]["users"]["fill"]["lastactivityat"] = {"last_message": "createdAt"}
    mapping["tables"]["conversations"]["fill"]["teamid"] = {"parent": "teams"}
    path = tmp / "teams.json"
    path.write_text(json.dumps(mapping))
    return path


def test_declared_parents_load_first_and_spread_over_rows(
    app_dataset: Path, pg_dsn: str, tmp_path: Path
) -> None:
    s = SCHEMA
    run_sql(pg_dsn, f"DROP SCHEMA IF EXISTS {s} CASCADE", f"DROP SCHEMA IF EXISTS synthgen_{s} "
            "CASCADE")  # fmt: skip
    run_migrations(pg_dsn, s, str(EXAMPLE / "schema.sql"))
    try:
        run_sql(
            pg_dsn,
            f"CREATE TABLE {s}.teams (id varchar(26) PRIMARY KEY, name varchar(64) NOT NULL, "
            "createat bigint NOT NULL, deleteat bigint NOT NULL DEFAULT 0)",
            f"ALTER TABLE {s}.users ADD COLUMN teamid varchar(26) NOT NULL",
            f"ALTER TABLE {s}.channels ADD COLUMN teamid varchar(26) NOT NULL",
            # the posts' key to teams is a real foreign key: filled automatically
            f"ALTER TABLE {s}.posts ADD COLUMN teamid varchar(26) NOT NULL "
            f"CONSTRAINT posts_teamid_fkey REFERENCES {s}.teams(id)",
        )
        mapping = _mapping(tmp_path)
        common = [str(app_dataset), "--dsn", pg_dsn, "--mapping", str(mapping)]
        plan = _synthgen("load", *common, "--plan")
        assert plan.returncode == 0, plan.stderr
        assert f"{s}.teams  <-  {TEAMS} parent rows (teams)" in plan.stdout
        assert (
            "teamid (character varying(26)) <- parent teams: one of 12 rows, zipf by the row's "
            "room, as text (automatic)" in plan.stdout
        )
        loaded = _synthgen("load", *common, "--jobs", "2", "--quiet")
        assert loaded.returncode == 0, loaded.stderr

        teams = query(pg_dsn, f"SELECT count(*), min(createat), max(createat), "
                      f"count(DISTINCT name) FROM {s}.teams")[0]  # fmt: skip
        con = duckdb.connect()
        first = con.execute(f"SELECT epoch_ms(min(\"createdAt\")) FROM "
                            f"'{app_dataset}/users/*.parquet'").fetchone()  # fmt: skip
        con.close()
        assert first is not None
        assert teams == (TEAMS, first[0], first[0], TEAMS)
        valid = query(pg_dsn, f"SELECT convalidated FROM pg_constraint WHERE conname = "
                      f"'posts_teamid_fkey' AND connamespace = '{s}'::regnamespace")  # fmt: skip
        assert valid == [(True,)]
        # every team column points at a team; a room's posts share the room's team
        orphans = query(
            pg_dsn,
            f"SELECT (SELECT count(*) FROM {s}.users WHERE teamid NOT IN (SELECT id FROM "
            f"{s}.teams)), (SELECT count(*) FROM {s}.channels WHERE teamid NOT IN (SELECT id "
            f"FROM {s}.teams)), (SELECT count(*) FROM {s}.posts p JOIN {s}.channels c ON "
            "c.id = p.channelid WHERE p.teamid <> c.teamid)",
        )[0]
        assert orphans == (0, 0, 0)
        # users spread uniformly (every team has users), rooms by Zipf (team 1 the largest)
        users = query(pg_dsn, f"SELECT teamid, count(*) FROM {s}.users GROUP BY 1")
        assert len(users) == TEAMS and min(n for _, n in users) > 0
        rooms = dict(query(pg_dsn, f"SELECT teamid, count(*) FROM {s}.channels GROUP BY 1"))
        assert rooms["1"] == max(rooms.values()) and rooms["1"] > 3 * rooms.get("12", 0)

        activity = query(
            pg_dsn,
            f"SELECT count(*), count(*) FILTER (WHERE u.lastactivityat IS DISTINCT FROM "
            f"(SELECT max(p.createat) FROM {s}.posts p WHERE p.userid = u.id)), count(*) FILTER "
            f"(WHERE u.lastactivityat IS NOT NULL) FROM {s}.users u",
        )[0]
        assert activity[1] == 0 and activity[2] > activity[0] // 10, activity

        again = _synthgen("load", *common, "--jobs", "2", "--quiet", "--replace")
        assert again.returncode == 0, again.stderr
        assert query(pg_dsn, f"SELECT count(*) FROM {s}.teams")[0][0] == TEAMS
    finally:
        run_sql(pg_dsn, f"DROP SCHEMA IF EXISTS {s} CASCADE", f"DROP SCHEMA IF EXISTS "
                f"synthgen_{s} CASCADE")  # fmt: skip
