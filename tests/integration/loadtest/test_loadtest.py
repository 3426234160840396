"""Load tests against the real server with real pgbench and a real PgBouncer.

A small dataset, a recorded-draw workload and two real sweeps (before and after the phase-2
indexes) are made once for the module; every command runs through the installed `synthgen`.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.terminal import in_terminal
from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.load.contract import LoadOptions, load_dataset
from synthgen.loadtest.workload import MESSAGE_ID_BASE
from synthgen.postgres.connect import connect, fetch_all, fetch_value
from synthgen.spec import load_spec

SCHEMA = "loadtest_gate"
SYNTHGEN = Path(sys.executable).parent / "synthgen"
MIX = {"Q1": 35, "Q2": 10, "Q3": 15, "Q4": 10, "Q5": 10, "W1": 10, "W2": 10}


def synthgen(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert SYNTHGEN.is_file(), f"{SYNTHGEN}: the console script is not installed"
    return subprocess.run(
        [str(SYNTHGEN), *args], capture_output=True, text=True, timeout=300, env=env
    )


@dataclass(frozen=True)
class Sweeps:
    dsn: str
    workload: Path
    pre: Path
    post: Path

    def result(self, which: str) -> dict[str, Any]:
        return dict(json.loads(getattr(self, which).read_text()))


@pytest.fixture(scope="module")
def sweeps(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Sweeps:
    root = tmp_path_factory.mktemp("loadtest")
    # its own seed, not the session's tiny dataset: the GO/NO-GO margins were measured on it
    build_dataset(load_spec(), BuildOptions("dev", 0.02, "loadtest", root / "ds", workers=2))
    load_dataset(LoadOptions(root / "ds", pg_dsn, schema=SCHEMA, jobs=2, replace=True))
    common = ["--dsn", pg_dsn]
    mix = ",".join(f"{k}={v}" for k, v in MIX.items())
    made = synthgen(
        "workload", *common, "--schema", SCHEMA, "--mix", mix, "--record-draws",
        "--out", str(root / "workload"),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    runs = {}
    for label in ("pre", "post"):
        if label == "post":
            applied = synthgen("indexes", "apply", *common, "--schema", SCHEMA, "--quiet")
            assert applied.returncode == 0, applied.stderr
        runs[label] = root / f"lt-{label}.json"
        # post is offered pre's rates and judged by pre's SLOs
        baseline = ["--baseline", str(runs["pre"])] if label == "post" else []
        ran = synthgen(
            "loadtest", "--workload", str(root / "workload"), *common, "--clients", "1,4",
            "--duration", "3", "--label", label, "--out", str(runs[label]), *baseline,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stderr
    return Sweeps(pg_dsn, root / "workload", runs["pre"], runs["post"])


QUERIES = ("Q1", "Q2", "Q3", "Q4", "Q5", "W1", "W2")


def test_sweep_reports_percentiles_for_every_query(sweeps: Sweeps) -> None:
    for which in ("pre", "post"):
        result = sweeps.result(which)
        assert [s["clients"] for s in result["steps"]] == [1, 4]
        for step in result["steps"]:
            assert step["errors"] == 0, step["error_sample"]
            assert set(step["queries"]) == set(QUERIES)
            for key, stats in step["queries"].items():
                assert stats["transactions"] > 0, (which, step["clients"], key)
                assert 0 < stats["p50_ms"] <= stats["p95_ms"] <= stats["p99_ms"] <= stats["max_ms"]
            assert step["tps"] > 0
        assert result["knee"]["reason"]
    html = sweeps.post.with_suffix(".html").read_text()
    for key in QUERIES:
        assert f'data-chart="{key} ' in html


def test_observed_mix_matches_the_requested_mix(sweeps: Sweeps) -> None:
    total_weight = sum(MIX.values())
    counts = dict.fromkeys(QUERIES, 0)
    for step in sweeps.result("post")["steps"]:
        for key, stats in step["queries"].items():
            counts[key] += stats["transactions"]
    total = sum(counts.values())
    assert total > 500, counts  # enough transactions for a few points' precision
    for key, weight in MIX.items():
        assert abs(counts[key] / total - weight / total_weight) < 0.04, (key, counts)


def test_rooms_are_drawn_by_their_message_volume(sweeps: Sweeps) -> None:
    with connect(sweeps.dsn, autocommit=True) as conn:
        heavy_messages = fetch_value(
            conn,
            f"SELECT sum(r.messages)::float8"
            f" / (SELECT sum(messages) FROM {SCHEMA}.synthgen_lt_rooms)"
            f" FROM {SCHEMA}.synthgen_lt_rooms r JOIN {SCHEMA}.conversation_traits t"
            ' ON t."conversationId" = r.conversation_id WHERE t."isHeavy"',
        )
        draws, heavy_draws = fetch_all(
            conn,
            'SELECT count(*), count(*) FILTER (WHERE t."isHeavy")'
            f" FROM {SCHEMA}.synthgen_lt_draws d"
            f' JOIN {SCHEMA}.conversation_traits t ON t."conversationId" = d.id'
            " WHERE d.script = 'Q1'",
        )[0]
        # users: the top 1 % by messages sent get their share of Q3 calls
        top_share, top_draws, q3_draws = fetch_all(
            conn,
            f"""WITH u AS (SELECT user_id, weight, ntile(100) OVER (ORDER BY weight DESC) AS pct
                FROM {SCHEMA}.synthgen_lt_users)
            SELECT (SELECT sum(weight) FILTER (WHERE pct = 1)::float8 / sum(weight) FROM u),
                   (SELECT count(*) FILTER (WHERE u.pct = 1)::float8 / count(*)
                    FROM {SCHEMA}.synthgen_lt_draws d JOIN u ON u.user_id = d.id
                    WHERE d.script = 'Q3'),
                   (SELECT count(*) FROM {SCHEMA}.synthgen_lt_draws WHERE script = 'Q3')""",
        )[0]
    assert draws > 300
    assert 0.5 < heavy_messages < 1.0  # heavy rooms hold most messages: the skew is real
    # a draw is a Bernoulli trial with the share as its chance: allow 4 binomial standard
    # errors (at least 2 points), so a slow machine's fewer draws widen the band honestly
    assert abs(heavy_draws / draws - heavy_messages) < _band(heavy_messages, draws), (
        heavy_draws,
        draws,
        heavy_messages,
    )
    assert q3_draws > 80, q3_draws
    assert abs(top_draws - top_share) < _band(top_share, q3_draws), (top_draws, top_share, q3_draws)


def _band(share: float, draws: int) -> float:
    return max(0.02, 4 * math.sqrt(share * (1 - share) / draws))


def test_sent_messages_are_valid_and_ordered_per_room(sweeps: Sweeps) -> None:
    with connect(sweeps.dsn, autocommit=True) as conn:
        sent = int(
            fetch_value(
                conn, f"SELECT count(*) FROM {SCHEMA}.messages WHERE id >= $1", (MESSAGE_ID_BASE,)
            )
        )
        w1 = sum(
            s["queries"]["W1"]["transactions"]
            for w in ("pre", "post")
            for s in sweeps.result(w)["steps"]
            + sweeps.result(w)["rates"]
            + sweeps.result(w)["write_steps"]
            if "W1" in s["queries"]
        )
        orphans = fetch_value(
            conn,
            f"""SELECT count(*) FROM {SCHEMA}.messages m
            LEFT JOIN {SCHEMA}.conversations c ON c.id = m."conversationId"
            LEFT JOIN {SCHEMA}.conversation_users cu
              ON cu."conversationId" = m."conversationId" AND cu."userId" = m."senderId"
            LEFT JOIN {SCHEMA}.users u ON u.id = m."senderId"
            WHERE m.id >= $1
              AND (c.id IS NULL OR u.id IS NULL OR NOT coalesce(cu."isActive", false))""",
            (MESSAGE_ID_BASE,),
        )
        disorder = fetch_value(
            conn,
            f"""SELECT count(*) FROM (
                SELECT "createdAt" <= lag("createdAt") OVER w AS bad
                FROM {SCHEMA}.messages WHERE "conversationId" IN (
                    SELECT "conversationId" FROM {SCHEMA}.messages WHERE id >= $1)
                WINDOW w AS (PARTITION BY "conversationId" ORDER BY id)) x WHERE bad""",
            (MESSAGE_ID_BASE,),
        )
        stale = fetch_value(
            conn,
            f"""SELECT count(*) FROM {SCHEMA}.conversations c WHERE c."updatedAt" <>
                (SELECT max("createdAt") FROM {SCHEMA}.messages m WHERE m."conversationId" = c.id)
                AND c.id IN (SELECT "conversationId" FROM {SCHEMA}.messages WHERE id >= $1)""",
            (MESSAGE_ID_BASE,),
        )
        # W2: receipts written by the load (after the snapshot) are a member's, never for a
        # message they sent, and their lastReadAt moved up to the receipt
        receipts, bad_receipts = fetch_all(
            conn,
            f"""SELECT count(*), count(*) FILTER (WHERE m."senderId" = r."userId"
                    OR cu."lastReadAt" IS NULL OR cu."lastReadAt" < r."readAt")
            FROM {SCHEMA}.read_receipts r
            JOIN {SCHEMA}.messages m ON m.id = r."messageId"
            LEFT JOIN {SCHEMA}.conversation_users cu
              ON cu."conversationId" = m."conversationId" AND cu."userId" = r."userId"
            WHERE r."readAt" > '2026-01-01'""",
        )[0]
    assert receipts > 0 and bad_receipts == 0, (receipts, bad_receipts)
    # every W1 transaction pgbench counted inserted exactly one message, with valid references
    assert sent == w1 > 0
    assert orphans == 0
    assert disorder == 0  # createdAt strictly increasing per room, generated and sent alike
    assert stale == 0  # the room's updatedAt is its last message


def test_pgbouncer_runs_200_clients_on_10_server_connections(
    sweeps: Sweeps, tmp_path: Path
) -> None:
    peak = [0]
    stop = threading.Event()
    count_sql = (
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
        "AND datname = current_database() AND pid <> pg_backend_pid()"
    )
    with connect(sweeps.dsn, autocommit=True) as conn:
        before = int(fetch_value(conn, count_sql))

        def watch() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], int(fetch_value(conn, count_sql)) - before)
                stop.wait(0.2)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            out = tmp_path / "pooled.json"
            ran = synthgen(
                "loadtest", "--workload", str(sweeps.workload), "--dsn", sweeps.dsn,
                "--clients", "200", "--duration", "3", "--pool", "pgbouncer", "--pool-size", "10",
                "--closed-loop", "--out", str(out), "--json",
            )  # fmt: skip
        finally:
            stop.set()
            watcher.join()
    assert ran.returncode == 0, ran.stderr
    step = json.loads(ran.stdout)["steps"][0]
    assert step["clients"] == 200 and step["errors"] == 0, step["error_sample"]
    assert step["transactions"] > 200
    assert 1 <= peak[0] <= 10, peak[0]


def test_exit_codes_of_the_installed_command(sweeps: Sweeps, tmp_path: Path) -> None:
    pre, post = str(sweeps.pre), str(sweeps.post)
    html = tmp_path / "loadtest.html"
    # the phase-2 indexes at equal offered load, the default 20 % budget: GO
    go = synthgen("loadtest", "compare", pre, post, "--html", str(html))
    assert go.returncode == 0, go.stdout + go.stderr
    assert "decision: GO" in go.stdout and "write overhead W1" in go.stdout
    page = html.read_text()
    # per query: p95 vs offered load and p95 vs clients; plus the capacity bars
    assert page.count("<svg") == 2 * len(QUERIES) + 1
    assert "pre, direct" in page and "post, direct" in page
    # judged the other way round (the same rates: post was offered pre's), capacity falls
    backwards = synthgen("loadtest", "compare", post, pre)
    assert backwards.returncode == 3, backwards.stdout + backwards.stderr
    assert "capacity fell" in backwards.stdout
    missing = synthgen("loadtest", "compare", pre, str(tmp_path / "nowhere.json"))
    assert missing.returncode == 1 and "nowhere.json" in missing.stderr
    # a result of the right kind without its steps: one line naming the file and the field
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({k: v for k, v in sweeps.result("pre").items() if k != "steps"}))
    bad = synthgen("loadtest", "compare", str(broken), post)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert bad.stderr.strip() == f"error: {broken}: field 'steps' is missing", bad.stderr
    usage = synthgen("loadtest", "--dsn", sweeps.dsn)
    assert usage.returncode == 2 and "--workload" in usage.stderr
    closed = synthgen(
        "loadtest", "--workload", str(sweeps.workload), "--dsn", sweeps.dsn, "--closed-loop",
        "--rate", "5", "--out", str(tmp_path / "c.json"),
    )  # fmt: skip
    assert closed.returncode == 2 and "--rate does not apply with --closed-loop" in closed.stderr
    assert not (tmp_path / "c.json").exists()
    bad_mix = synthgen("workload", "--dsn", sweeps.dsn, "--schema", SCHEMA, "--mix", "Q9=5",
                       "--out", str(tmp_path / "w"))  # fmt: skip
    assert bad_mix.returncode == 1 and "--mix Q9" in bad_mix.stderr
    env = {**os.environ, "SYNTHGEN_ENV": "production"}
    refused = synthgen(
        "loadtest", "--workload", str(sweeps.workload), "--dsn", sweeps.dsn, "--clients", "1",
        "--duration", "1", "--out", str(tmp_path / "x.json"), env=env,
    )  # fmt: skip
    assert refused.returncode == 1 and "production" in refused.stderr
    assert not (tmp_path / "x.json").exists()


def test_each_step_shows_its_seconds_in_a_terminal(sweeps: Sweeps, tmp_path: Path) -> None:
    out = tmp_path / "bar.json"
    code, drawn = in_terminal(
        "loadtest", "--workload", str(sweeps.workload), "--dsn", sweeps.dsn, "--clients", "1,2",
        "--duration", "3", "--closed-loop", "--label", "bar", "--out", str(out),
    )  # fmt: skip
    assert code == 0, drawn
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)  # the terminal's colours and moves
    frames = re.findall(r"load test bar, direct: (\d) clients[^\r\n]*?(\d)/3 s", drawn)
    # both steps drawn, each moving through its three seconds (not only its end)
    for clients in ("1", "2"):
        seen = {int(done) for step, done in frames if step == clients}
        assert 3 in seen and len(seen) >= 3, (clients, seen, drawn)
    assert [s["clients"] for s in json.loads(out.read_text())["steps"]] == [1, 2]
    quiet_code, quiet = in_terminal(
        "loadtest", "--workload", str(sweeps.workload), "--dsn", sweeps.dsn, "--clients", "1",
        "--duration", "1", "--closed-loop", "--quiet", "--out", str(tmp_path / "q.json"),
    )  # fmt: skip
    assert quiet_code == 0 and "load test" not in quiet and "/1 s" not in quiet, quiet
    # refused before any step: the error alone, no bar
    refused_code, refused = in_terminal(
        "loadtest", "--workload", str(sweeps.workload), "--dsn", sweeps.dsn, "--clients", "1",
        "--duration", "1", "--out", str(tmp_path / "r.json"), env={"SYNTHGEN_ENV": "production"},
    )  # fmt: skip
    assert refused_code == 1 and "production" in refused and "load test" not in refused


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_pgbouncer_killed_mid_loadtest_ends_with_a_clear_error_and_partial_results(
    sweeps: Sweeps, tmp_path: Path
) -> None:
    out = tmp_path / "killed.json"
    proc = subprocess.Popen(
        [str(SYNTHGEN), "loadtest", "--workload", str(sweeps.workload), "--dsn", sweeps.dsn,
         "--clients", "2,4", "--duration", "6", "--pool", "pgbouncer", "--closed-loop",
         "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        bouncer = None
        for _ in range(200):  # the PgBouncer this loadtest started: its own child
            bouncer = next((c for c in _children(proc.pid) if "pgbouncer" in _cmdline(c)), None)
            if bouncer is not None:
                break
            time.sleep(0.05)
        assert bouncer is not None, "the loadtest started no PgBouncer"
        time.sleep(3)  # into the first step
        os.kill(bouncer, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, stdout + stderr
    *bar, line = stderr.strip().splitlines()
    # the step under way drawn where it stopped (its bar), then the error in one line
    assert len(bar) == 1 and bar[0].startswith("load test pre, pgbouncer: 2 clients"), bar
    assert line.startswith("error: PgBouncer exited") and "during the step at 2 clients" in line
    assert f"written to {out}, marked partial" in line, line
    result = json.loads(out.read_text())
    assert result["partial"] is True and result["steps"] == []
    assert result["error"].startswith("PgBouncer exited")
    refused = synthgen("loadtest", "compare", str(out), str(sweeps.pre))
    assert refused.returncode == 1 and "partial result" in refused.stderr, refused.stderr


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
