"""Load tests judged at equal offered load, against the real server with real pgbench.

One small dataset and workload for the module; each change is measured with `synthgen
loadtest --baseline BEFORE` (the rates and SLOs of the run before it) and judged with
`synthgen loadtest compare`, through the installed command:

- the phase-2 indexes raise capacity and are GO, the same rates recorded before and after;
- an index whose maintenance sleeps 25 ms per sent message slows W1 at equal rate: NO-GO;
- dropping the indexes again lowers capacity: NO-GO naming capacity;
- an offered rate is honoured within 5 % by pgbench's own count.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.load.contract import LoadOptions, load_dataset
from synthgen.loadtest.workload import MESSAGE_ID_BASE
from synthgen.postgres.connect import connect, execute, fetch_all
from synthgen.spec import load_spec

pytestmark = pytest.mark.one_server

SCHEMA = "lt_offered"
SYNTHGEN = Path(sys.executable).parent / "synthgen"
# W1 weighted up so each offered rate runs enough writes to judge their p95
MIX = "Q1=30,Q2=10,Q3=15,Q4=15,Q5=10,W1=20"
SLOW_INDEX = "lt_offered_slow_write"


def synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    assert SYNTHGEN.is_file(), f"{SYNTHGEN}: the console script is not installed"
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=600)


class Lab:
    """The module's dataset, workload and the load tests run on it so far."""

    def __init__(self, dsn: str, root: Path) -> None:
        self.dsn, self.root = dsn, root
        self.results: dict[str, Path] = {}

    def measure(self, label: str, baseline: str | None = None) -> dict[str, Any]:
        out = self.root / f"lt-{label}.json"
        extra = ["--baseline", str(self.results[baseline])] if baseline else []
        ran = synthgen(
            "loadtest", "--workload", str(self.root / "workload"), "--dsn", self.dsn,
            "--clients", "1,4", "--duration", "3", "--label", label, "--out", str(out), *extra,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        self.results[label] = out
        return dict(json.loads(out.read_text()))

    def compare(self, before: str, after: str) -> subprocess.CompletedProcess[str]:
        html = self.root / f"{before}-{after}.html"
        pre, post = str(self.results[before]), str(self.results[after])
        return synthgen("loadtest", "compare", pre, post, "--html", str(html))

    def sql(self, statement: str) -> None:
        with connect(self.dsn, autocommit=True) as conn:
            execute(conn, statement)


@pytest.fixture(scope="module")
def lab(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("offered")
    # its own seed, not the session's tiny dataset: the GO/NO-GO margins were measured on it
    build_dataset(load_spec(), BuildOptions("dev", 0.02, "offered", root / "ds", workers=2))
    load_dataset(LoadOptions(root / "ds", pg_dsn, schema=SCHEMA, jobs=2, replace=True))
    made = synthgen("workload", "--dsn", pg_dsn, "--schema", SCHEMA, "--mix", MIX,
                    "--out", str(root / "workload"))  # fmt: skip
    assert made.returncode == 0, made.stderr
    yield Lab(pg_dsn, root)
    with connect(pg_dsn, autocommit=True) as conn:
        for schema in (SCHEMA, f"synthgen_{SCHEMA}"):
            execute(conn, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _rates(result: dict[str, Any]) -> list[float]:
    return [r["offered_tps"] for r in result["rates"]]


def test_indexes_that_raise_capacity_are_go_at_equal_offered_rates(lab: Lab) -> None:
    pre = lab.measure("pre")
    assert pre["mode"] == "offered" and pre["capacity"]["tps"] > 0
    # 25 / 50 / 80 % of the measured capacity, 3 significant digits
    expected = [float(f"{pre['capacity']['tps'] * f:.3g}") for f in (0.25, 0.5, 0.8)]
    assert _rates(pre) == expected
    applied = synthgen("indexes", "apply", "--dsn", lab.dsn, "--schema", SCHEMA, "--quiet")
    assert applied.returncode == 0, applied.stderr
    post = lab.measure("post", baseline="pre")
    assert _rates(post) == _rates(pre)  # the same offered rates before and after
    assert [r["duration_s"] for r in post["rates"]] == [r["duration_s"] for r in pre["rates"]]
    assert post["slo"] == pre["slo"]
    assert post["capacity"]["tps"] > 2 * pre["capacity"]["tps"], (pre["capacity"], post["capacity"])
    judged = lab.compare("pre", "post")
    assert judged.returncode == 0, judged.stdout + judged.stderr
    assert "decision: GO" in judged.stdout
    assert judged.stdout.splitlines()[-1] == f"wrote {lab.root / 'pre-post.html'}"
    held = ", ".join(f"{r:g}" for r in _rates(pre))
    assert f"held equal: offered {held} tx/s" in judged.stdout
    page = (lab.root / "pre-post.html").read_text()
    assert page.index("Decision") < page.index("Capacity and knee") < page.index("p95 vs offered")
    for key in ("Q1", "Q2", "Q3", "Q4", "Q5", "W1"):
        assert f'data-chart="{key} ' in page and f"{key}" in page


def test_an_index_that_slows_the_write_path_is_no_go_at_equal_rate(lab: Lab) -> None:
    if "post" not in lab.results:
        pytest.fail("runs after test_indexes_that_raise_capacity_are_go_at_equal_offered_rates")
    # a real index whose maintenance costs 25 ms for each message W1 sends (the predicate keeps
    # the generated rows, and those the earlier load tests sent, out of it: it builds at once)
    with connect(lab.dsn, autocommit=True) as conn:
        sent = fetch_all(conn, f"SELECT coalesce(max(id), 0) FROM {SCHEMA}.messages")[0][0]
    lab.sql(
        f"CREATE OR REPLACE FUNCTION {SCHEMA}.slow_key(bigint) RETURNS bigint IMMUTABLE "
        "LANGUAGE plpgsql AS $$BEGIN PERFORM pg_sleep(0.025); RETURN $1; END$$"
    )
    lab.sql(
        f"CREATE INDEX {SLOW_INDEX} ON {SCHEMA}.messages ({SCHEMA}.slow_key(id)) "
        f"WHERE id > {max(int(sent), MESSAGE_ID_BASE)}"
    )
    try:
        slow = lab.measure("slow", baseline="post")
    finally:
        lab.sql(f"DROP INDEX {SCHEMA}.{SLOW_INDEX}")
    assert _rates(slow) == _rates(json.loads(lab.results["post"].read_text()))
    judged = lab.compare("post", "slow")
    assert judged.returncode == 3, judged.stdout + judged.stderr
    decision = next(ln for ln in judged.stdout.splitlines() if ln.startswith("decision:"))
    assert decision.startswith("decision: NO-GO")
    # W1 is named at an offered rate, with its p95 before and after: ~25 ms added
    assert "tx/s offered" in decision and "write W1 p95" in decision, decision
    w1 = [r for r in slow["rates"] if r["queries"]["W1"]["transactions"] >= 20]
    assert w1 and all(r["queries"]["W1"]["p95_ms"] >= 25 for r in w1)
    # offered alone at the same rate as before, it shows the added 25 ms too
    (alone,) = slow["write_steps"]
    (before,) = json.loads(lab.results["post"].read_text())["write_steps"]
    assert alone["offered_tps"] == before["offered_tps"]
    assert alone["queries"]["W1"]["p95_ms"] >= 25
    assert alone["queries"]["W1"]["p95_ms"] > before["queries"]["W1"]["p95_ms"]


def test_a_change_that_lowers_capacity_is_no_go_naming_capacity(lab: Lab) -> None:
    if "post" not in lab.results:
        pytest.fail("runs after test_indexes_that_raise_capacity_are_go_at_equal_offered_rates")
    dropped = synthgen("indexes", "rollback", "--dsn", lab.dsn, "--schema", SCHEMA, "--quiet")
    assert dropped.returncode == 0, dropped.stderr
    lower = lab.measure("lower", baseline="post")
    judged = lab.compare("post", "lower")
    assert judged.returncode == 3, judged.stdout + judged.stderr
    post = json.loads(lab.results["post"].read_text())
    assert lower["capacity"]["tps"] < 0.5 * post["capacity"]["tps"]
    assert "capacity fell" in judged.stdout, judged.stdout


def test_an_offered_rate_is_honoured_within_5_percent(lab: Lab) -> None:
    if "post" not in lab.results:
        pytest.fail("runs after test_indexes_that_raise_capacity_are_go_at_equal_offered_rates")
    applied = synthgen("indexes", "apply", "--dsn", lab.dsn, "--schema", SCHEMA, "--quiet")
    assert applied.returncode == 0, applied.stderr
    capacity = json.loads(lab.results["post"].read_text())["capacity"]["tps"]
    rate = float(f"{capacity * 0.4:.3g}")  # well below the knee: the server keeps up
    # a Poisson schedule: ~4000 expected transactions put 5 % beyond 3 standard deviations
    seconds = max(3, min(30, math.ceil(4000 / rate)))
    out = lab.root / "honoured.json"
    ran = synthgen(
        "loadtest", "--workload", str(lab.root / "workload"), "--dsn", lab.dsn,
        "--clients", "8", "--duration", str(seconds), "--rate", f"{rate:g}", "--out", str(out),
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    (step,) = json.loads(out.read_text())["rates"]
    assert step["offered_tps"] == rate and step["duration_s"] >= seconds
    assert step["errors"] == 0, step["error_sample"]
    processed = step["pgbench_processed"]  # pgbench's own "actually processed" count
    assert processed == step["transactions"]  # every transaction is in its log
    assert abs(processed / (rate * step["duration_s"]) - 1) <= 0.05, (processed, rate, step)
