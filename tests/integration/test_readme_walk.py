"""The main README walked top to bottom, every command block line by line, as a newcomer pastes
them into a shell on a fresh checkout with a scratch database in $SYNTHGEN_DSN.

Only the sizes change ("at small scale"): a `--band` without `--scale` gets `--scale 0.03`
(the smallest the fidelity gate judges), and load-test sweeps run 5-second steps of 1-2 clients
(4-8 through the pool). Every line must be in
WALK — what it must exit with — or in SKIPPED with the reason it cannot run here, so a new README
command fails this test until someone decides how a newcomer meets it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.doc_commands import (
    REPO,
    command_lines,
    fresh_checkout,
    fresh_database,
    named_files,
    run_line,
)

pytestmark = [pytest.mark.postgres, pytest.mark.one_server]

SKIPPED = {
    "make demo": "tests/integration/test_demo.py runs the demo",
    "make test": "this is make test",
    "synthgen plan --band perf --seed 42 --dsn postgresql://me@localhost/scratch --json": (
        "a server of the reader's"
    ),
    "synthgen validate out/perf --memory-limit 4GiB --threads 8 --temp-dir /scratch": (
        "a perf-band dataset and a /scratch disk"
    ),
    "synthgen load out/dev --dsn postgresql://me@localhost:5432/scratch --schema perf_dev "
    "--jobs 2": "a server of the reader's",
    "synthgen load out/dev-b --replace": "a second dataset of the reader's",
    "synthgen postgres migrate schema.sql --schema app": (
        "the reader's migrations: examples/prisma-chat/README.md walks the same path "
        "(test_documented_commands)"
    ),
    "synthgen mapping init --schema app --out app.json": "the reader's migrated schema (as above)",
    "synthgen load out/dev --mapping app.json --plan": "the reader's mapping (as above)",
    "synthgen load out/dev --mapping app.json": "the reader's mapping (as above)",
    "export ANONYMIZATION_SALT=$(openssl rand -hex 32)": "production: make e2e walks it",
    "synthgen sample --dsn postgresql://reader@db/app --mapping mapping.json --out "
    "shape-metrics.json": "production: make e2e walks it",
    "synthgen calibrate shape-metrics.json --out my-spec.json": "production: make e2e walks it",
    "synthgen generate --band staging --scale 0.01 --spec my-spec.json --out out/mine": (
        "production: make e2e walks it"
    ),
    "synthgen validate out/mine --against shape-metrics.json": "production: make e2e walks it",
    "synthgen postgres up": (
        "tests/integration/postgres/test_postgres_cluster.py (a cluster of its own)"
    ),
    "synthgen postgres up --embedded": "tests/integration/postgres/test_postgres_embedded.py",
    "synthgen postgres status": "tests/integration/postgres/test_postgres_cluster.py",
    "synthgen postgres down": "tests/integration/postgres/test_postgres_cluster.py",
    "synthgen sample statements --dsn postgresql://reader@db/app --mapping mapping.json --top 10 "
    "--out captured/": "production: tests/integration/sample/test_statements.py walks it",
    "synthgen verify baseline --label pre --mapping mapping.json --queries captured/ ...": (
        "production's captured files: test_statements.py runs them"
    ),
    "synthgen workload --mapping mapping.json --queries captured/ --out out/w": (
        "production's captured files: test_statements.py replays their mix"
    ),
    "make demo CAPTURED=1": "tests/integration/test_demo_captured.py runs it",
    "synthgen indexes suggest --schema perf_dev --out out/phase-2.sql": (
        "HypoPG on the system server: tests/integration/verify/test_suggest_indexes.py"
    ),
    "synthgen indexes prove --schema perf_dev --file out/phase-2.sql --out "
    "out/phase-2-proven.sql": "HypoPG on the system server: test_suggest_indexes.py",
    "synthgen run --band dev --suggest --out out/run-suggest": (
        "HypoPG on the system server: test_suggest_indexes.py runs it"
    ),
}
WALK = {
    "synthgen generate --band dev --seed 42 --out out/dev": 0,
    "synthgen generate --band dev --scale 0.01 --out out/tiny": 0,
    "synthgen generate --from-manifest out/dev/manifest.json --out out/copy": 0,
    "synthgen plan --band staging --seed 42 --out /data/staging": 0,
    "synthgen run --band dev --seed 42 --out out/run-dev --schema perf_run": 0,
    "synthgen validate out/dev --html out/dev/fidelity.html": 0,
    # strict (5 %) at 3 % of dev: NO-GO, always (the same bytes every time: seed 42)
    "synthgen validate out/dev --tolerance strict --json report.json": 3,
    "synthgen extend out/dev --days 3 --out out/dev-ext1": 0,
    "synthgen extend out/dev-ext1 --days 2 --out out/dev-ext2": 0,
    "synthgen validate out/dev out/dev-ext1 out/dev-ext2": 0,
    "synthgen generate --from-manifest out/dev-ext2/manifest.json --out out/chain": 0,
    "synthgen load out/dev": 0,
    "synthgen load out/dev --resume": 0,
    "synthgen teardown --schema perf_dev": 0,
    "synthgen verify baseline --label pre  --out out/pre/baseline-pre.json": 0,
    "synthgen indexes apply": 0,
    "synthgen verify baseline --label post --out out/pre/baseline-post.json": 0,
    "synthgen verify compare out/pre/baseline-pre.json out/pre/baseline-post.json": 0,
    "synthgen indexes rollback": 0,
    "synthgen workload --out out/workload": 0,
    "synthgen loadtest --workload out/workload --clients 1,4,16,64 --duration 30 --label pre "
    "--out out/lt-pre.json": 0,
    "synthgen loadtest --workload out/workload --clients 1,4,16,64 --duration 30 --label post "
    "--baseline out/lt-pre.json --out out/lt-post.json": 0,
    "synthgen loadtest --workload out/workload --clients 200,1000 --pool pgbouncer --pool-size "
    "10 --closed-loop --label post --out out/lt-pool.json": 0,
    "synthgen loadtest compare out/lt-pre.json out/lt-post.json --html out/loadtest.html": 0,
}


def command_of(line: str) -> str:
    """The line without its trailing comment (what WALK and SKIPPED are keyed by)."""
    return re.split(r"\s+#", line, maxsplit=1)[0].strip()


def small(line: str) -> str:
    """The same command at a small scale (the only change the walk makes)."""
    if re.search(r"--band \w+", line) and "--scale" not in line:
        line = re.sub(r"(--band \w+)", r"\1 --scale 0.03", line, count=1)
    line = line.replace("--clients 1,4,16,64 --duration 30", "--clients 1,2 --duration 5")
    return line.replace("--clients 200,1000", "--clients 4,8 --duration 5")


def test_every_readme_command_is_walked_or_skipped_for_a_reason() -> None:
    lines = [command_of(line) for line in command_lines((REPO / "README.md").read_text())]
    unknown = [line for line in lines if line not in WALK and line not in SKIPPED]
    assert unknown == [], "README commands the walk does not know"
    assert set(WALK) | set(SKIPPED) == set(lines), "entries for commands no longer in the README"


def test_the_readme_runs_as_written_at_small_scale(pg_dsn: str, tmp_path: Path) -> None:
    cwd = fresh_checkout(tmp_path / "checkout")
    env = {"SYNTHGEN_DSN": fresh_database(pg_dsn, "doc_readme")}
    for line in command_lines((REPO / "README.md").read_text()):
        command = command_of(line)
        if command in SKIPPED:
            continue
        ran = run_line(small(line), cwd, env)
        expected = WALK[command]
        shown = f"{small(line)}\n{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
        assert ran.code == expected, shown
        for name in named_files(command):
            if not name.startswith("/"):
                assert (cwd / name).exists(), f"{command}: wrote no {name}"
    copy = sorted(p.name for p in (cwd / "out/copy/messages").iterdir())
    assert copy == sorted(p.name for p in (cwd / "out/dev/messages").iterdir())
    for part in copy:
        assert (cwd / "out/copy/messages" / part).read_bytes() == (
            cwd / "out/dev/messages" / part
        ).read_bytes()
