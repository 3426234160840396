"""`synthgen run --rehearse` and the CI files of every gate, through the installed command.

One small run (its indexes rehearsed under load) for the module; then each gate's command is run
again on the run's artifacts with --summary-md and --junit, and both files are parsed back
(markdown lines, xml.etree) and held against the gate's own JSON and exit code.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from synthgen.postgres.connect import connect, execute, fetch_value

pytestmark = pytest.mark.one_server

SYNTHGEN = Path(sys.executable).parent / "synthgen"
SCHEMA = "run_rehearse"


def synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    assert SYNTHGEN.is_file(), f"{SYNTHGEN}: the console script is not installed"
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=900)


@dataclass(frozen=True)
class Run:
    dsn: str
    out: Path
    proc: subprocess.CompletedProcess[str]

    def json(self, name: str) -> dict[str, Any]:
        return dict(json.loads((self.out / name).read_text()))


def suite_of(path: Path) -> ET.Element:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return suite


def failed_cases(suite: ET.Element) -> set[str]:
    return {str(c.get("name")) for c in suite.iter("testcase") if c.find("failure") is not None}


@pytest.fixture(scope="module")
def run(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    out = tmp_path_factory.mktemp("run-rehearse") / "run"
    proc = synthgen(
        "run",
        "--band",
        "dev",
        "--scale",
        "0.03",  # at 0.02 the fidelity gate cannot judge the room sizes (SKIP)
        "--seed",
        "rehearse",
        "--out",
        str(out),
        "--dsn",
        pg_dsn,
        "--schema",
        SCHEMA,
        "--runs",
        "2",
        "--workers",
        "2",
        "--rehearse",
        "--rehearse-seconds",
        "8",
        "--summary-md",
        str(out.parent / "run.md"),
        "--junit",
        str(out.parent / "run.xml"),
        "--json",
    )
    yield Run(pg_dsn, out, proc)
    with connect(pg_dsn, autocommit=True) as conn:  # the guard counts rows left elsewhere
        for schema in (SCHEMA, f"synthgen_{SCHEMA}"):
            execute(conn, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_run_rehearses_the_indexes_under_load_into_the_report(run: Run) -> None:
    summary = json.loads(run.proc.stdout)
    doc = run.json("rehearse.json")
    verdicts = [summary["fidelity"], summary["index_gate"], summary["rehearsal"]]
    assert summary["rehearsal"] == doc["decision"]
    # the shipped indexes on the shipped queries (the index gate measured 77-81 % at dev x 0.02),
    # built CONCURRENTLY under a light load: GO on all three gates, exit 0
    assert verdicts == ["GO", "GO", "GO"] and run.proc.returncode == 0, run.proc.stderr
    state = run.json("run-state.json")
    assert list(state["done"])[:5] == ["generate", "validate", "load", "workload", "baseline_pre"]
    assert state["done"]["indexes"]["verdict"] == doc["decision"]
    builds = [s for s in doc["statements"] if s.get("index")]
    assert [s["index"]["name"] for s in builds] == [
        "idx_messages_conversation_created_desc",
        "idx_conversation_users_user_active",
        "idx_conversations_updated_desc",
    ]
    assert all(s["ok"] and s["index"]["valid"] and s["blocked"] == [] for s in builds)
    # the load (reads, W1 and W2: W2 added at W1's weight) ran on through the builds
    keys = ["Q1", "Q2", "Q3", "Q4", "Q5", "W1", "W2"]
    assert doc["load"]["scripts"] == keys
    for key in ("W1", "W2"):
        assert sum(r[key]["transactions"] for r in doc["per_second"]) > 0, key
    # ... before the first statement and after the last: the script ran inside the load (at
    # this scale the builds last well under a second, too short to count transactions in)
    ran = [s for s in doc["statements"] if not s.get("skipped")]
    lo = ran[0]["started"] - doc["load"]["started"]
    hi = ran[-1]["ended"] - doc["load"]["started"]
    busy = [r["second"] for r in doc["per_second"] if any(r[k]["transactions"] for k in keys)]
    assert min(busy) < lo and max(busy) > hi, (busy, lo, hi)
    assert doc["during"]["errors"] == 0 and set(doc["during"]) == {*keys, "errors"}
    post = run.json("baseline-post.json")
    assert "idx_messages_conversation_created_desc" in {i["name"] for i in post["indexes"]}
    html = (run.out / "report.html").read_text()
    assert "Rehearsal: the index script under live load" in html
    assert 'data-chart="rehearsal latency"' in html
    for s in builds:
        assert f'data-statement="{s["number"]}"' in html


def test_run_summary_and_junit_carry_every_gate(run: Run) -> None:
    summary = json.loads(run.proc.stdout)
    overall = "GO"  # every gate GO (the test above)
    md = (run.out.parent / "run.md").read_text().splitlines()
    assert md[0].startswith(f"## {'✅' if overall == 'GO' else '❌'} {overall} — synthgen run")
    rows = {line.split(" | ")[0].strip("| "): line for line in md if line.startswith("| ")}
    assert rows["fidelity"].split(" | ")[1] == summary["fidelity"]
    assert rows["index gate"].split(" | ")[1] == summary["index_gate"]
    assert rows["rehearsal"].split(" | ")[1] == summary["rehearsal"]
    assert "[run report](run/report.html)" in "\n".join(md)
    suite = suite_of(run.out.parent / "run.xml")
    names = [str(c.get("name")) for c in suite.iter("testcase")]
    fidelity = run.json("dataset/fidelity-report.json")
    assert sum(n.startswith("fidelity: check ") for n in names) == len(fidelity["checks"])
    compare = run.json("compare.json")
    assert sum(n.startswith("index gate: ") for n in names) >= len(compare["changes"])
    assert any(n.startswith("rehearsal: statement 1: CREATE INDEX CONCURRENTLY") for n in names)
    verdict = suite.find("properties/property[@name='verdict']")
    assert verdict is not None and verdict.get("value") == overall


def test_validate_writes_its_ci_files(run: Run) -> None:
    md, xml = run.out.parent / "fid.md", run.out.parent / "fid.xml"
    proc = synthgen(
        "validate",
        str(run.out / "dataset"),
        "--quiet",
        "--html",
        str(run.out.parent / "fid.html"),
        "--summary-md",
        str(md),
        "--junit",
        str(xml),
    )
    report = run.json("dataset/fidelity-report.json")
    verdict = report["decision"]["verdict"]
    assert verdict == "GO" and proc.returncode == 0, proc.stderr  # the run's own dataset
    assert md.read_text().splitlines()[0].endswith(f"{verdict} — synthgen fidelity")
    assert "[fidelity report](fid.html)" in md.read_text()
    suite = suite_of(xml)
    assert int(suite.get("tests", "0")) == len(report["checks"])
    failing = {
        f"check {c['number']} {c['name']}" for c in report["checks"] if c["status"] == "FAIL"
    }
    assert failed_cases(suite) == failing


def test_verify_compare_writes_its_ci_files_and_a_regression_fails_natively(run: Run) -> None:
    md, xml = run.out.parent / "gate.md", run.out.parent / "gate.xml"
    # backwards: the baseline with the indexes as PRE, the one without as POST: reads regress
    proc = synthgen(
        "verify",
        "compare",
        str(run.out / "baseline-post.json"),
        str(run.out / "baseline-pre.json"),
        "--summary-md",
        str(md),
        "--junit",
        str(xml),
        "--json",
        str(run.out.parent / "gate.json"),
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    result = json.loads((run.out.parent / "gate.json").read_text())
    assert md.read_text().startswith("## ❌ NO-GO — synthgen index gate")
    suite = suite_of(xml)
    degraded = {
        f"{c['query']} {c['param_class']} {c['plan_mode']}"
        for c in result["changes"]
        if c["degraded"]
    }
    rules = {f"rule: {reason}" for reason in result["reasons"]}
    assert failed_cases(suite) == degraded | rules
    assert int(suite.get("tests", "0")) >= len(result["changes"])


def test_a_statement_failing_under_load_stops_the_run_with_its_rehearsal(run: Run) -> None:
    # resume the run at its indexes stage with a script whose unique build fails half-way
    state = run.json("run-state.json")
    for name in ("indexes", "baseline_post", "compare", "report"):
        state["done"].pop(name)
    (run.out / "run-state.json").write_text(json.dumps(state))
    script = run.out.parent / "unique.sql"
    script.write_text(
        "SET lock_timeout = '30s';\nSET statement_timeout = '5min';\n"
        'CREATE UNIQUE INDEX CONCURRENTLY "run_unique" ON "messages" ("conversationId");\n'
    )
    md, xml = run.out.parent / "failed.md", run.out.parent / "failed.xml"
    proc = synthgen(
        "run",
        "--band",
        "dev",
        "--scale",
        "0.03",
        "--seed",
        "rehearse",
        "--out",
        str(run.out),
        "--dsn",
        run.dsn,
        "--schema",
        SCHEMA,
        "--runs",
        "2",
        "--workers",
        "2",
        "--rehearse",
        "--rehearse-seconds",
        "8",
        "--indexes",
        str(script),
        "--summary-md",
        str(md),
        "--junit",
        str(xml),
    )
    assert proc.returncode == 3, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: rehearsal: NO-GO: statement 3 failed under load")
    assert "baseline_post" not in run.json("run-state.json")["done"]
    doc = run.json("rehearse.json")
    assert doc["invalid_indexes"] == ["run_unique"]
    with connect(run.dsn, autocommit=True) as conn:
        assert fetch_value(conn, "SELECT to_regclass($1)", (f"{SCHEMA}.run_unique",)) is None
    assert md.read_text().startswith("## ❌ NO-GO — synthgen rehearsal")
    assert "no INVALID index left" in failed_cases(suite_of(xml))


def test_loadtest_compare_writes_its_ci_files(run: Run) -> None:
    # last in the module: it rolls the indexes back to measure the load without them
    results = {}
    for label in ("with", "without"):
        if label == "without":
            back = synthgen("indexes", "rollback", "--dsn", run.dsn, "--schema", SCHEMA, "--quiet")
            assert back.returncode == 0, back.stderr
        results[label] = run.out.parent / f"lt-{label}.json"
        ran = synthgen(
            "loadtest",
            "--workload",
            str(run.out / "workload"),
            "--dsn",
            run.dsn,
            "--clients",
            "2",
            "--duration",
            "3",
            "--label",
            label,
            "--out",
            str(results[label]),
            # the same offered rates as the run with the indexes: a comparison needs them equal
            *(["--baseline", str(results["with"])] if label == "without" else []),
        )
        assert ran.returncode == 0, ran.stderr
    md, xml = run.out.parent / "lt.md", run.out.parent / "lt.xml"
    proc = synthgen(
        "loadtest",
        "compare",
        str(results["with"]),
        str(results["without"]),
        "--html",
        str(run.out.parent / "lt.html"),
        "--out",
        str(run.out.parent / "ltc.json"),
        "--summary-md",
        str(md),
        "--junit",
        str(xml),
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr  # reads got worse without the indexes
    doc = json.loads((run.out.parent / "ltc.json").read_text())
    text = md.read_text()
    assert text.startswith("## ❌ NO-GO — synthgen load test") and "[load test](lt.html)" in text
    suite = suite_of(xml)
    names = {str(c.get("name")) for c in suite.iter("testcase")}
    assert {f"{k} p95" for k in doc["p95_change_by_query"]} <= names
    worse = {f"{k} p95" for k, v in doc["p95_change_by_query"].items() if v > doc["write_budget"]}
    rules = {f"rule: {reason}" for reason in doc["reasons"]}
    assert failed_cases(suite) == worse | rules
