"""Shared pytest fixtures."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

# --- PostgreSQL: one real server per test session ---------------------------------------------
# `pg_dsn` is the DSN of a real server: $SYNTHGEN_TEST_DSN, else a throwaway cluster started
# with synthgen.postgres.ensure_cluster. `pg_cluster_dir_factory` hands out fresh directories
# for tests that manage clusters themselves. Without server binaries such tests are skipped,
# or fail when SYNTHGEN_REQUIRE_POSTGRES=1. Tests using either fixture get the `postgres` mark.
# SYNTHGEN_TEST_PG=system|embedded picks the server every cluster of the session runs from (the
# system's PostgreSQL 15 or the embedded 18); unset, synthgen's own rule decides. `make test`
# runs the suite on the system's server, then the postgres-marked tests on the embedded one.

_PG_FIXTURES = {"pg_dsn", "pg_cluster_dir_factory"}
REQUIRE_ENV = "SYNTHGEN_REQUIRE_POSTGRES"


def _required() -> bool:
    return os.environ.get(REQUIRE_ENV) == "1"


TEST_SERVER_ENV = "SYNTHGEN_TEST_PG"


def pytest_configure(config: pytest.Config) -> None:
    chosen = os.environ.get(TEST_SERVER_ENV, "").strip()
    if chosen:
        # every cluster (fixtures, tests, `synthgen` subprocesses) follows the product's setting
        os.environ["SYNTHGEN_PG_SERVER"] = chosen


def pytest_report_header() -> str:
    from synthgen.errors import ClusterError
    from synthgen.postgres.server import find_server_binaries

    try:
        return f"local PostgreSQL clusters: {find_server_binaries().describe()}"
    except ClusterError as exc:
        return f"local PostgreSQL clusters: none ({exc})"


# --- what runs alone: timing verdicts and end-to-end walks ------------------------------------
# `make test` runs each server's tests in two parts: the ones not marked `serial` on xdist
# workers side by side, then the `serial` ones alone in one process. A test is serial when its
# verdict rests on measured time (load tests, the index gate's baselines and compares,
# rehearsals under load, soaks, the demos' verdicts): a build on the next worker moves their
# latencies and flips them. The end-to-end walks (one_server) are serial too. A new test of that
# kind in another place goes here, or is marked `serial` itself.
TESTS = Path(__file__).resolve().parent
SERIAL_PATHS = (
    "integration/loadtest/",
    "integration/verify/",
    "integration/rehearse/",
    "integration/appschema/test_go_chat.py",
    "integration/extend/test_soak.py",
    "integration/sample/test_statements.py",
    "integration/test_demo.py",
    # a server crashed or stopped mid-load: what the client sees first is a race (on the
    # embedded 18 beside a busy worker the server's shutdown WARNING came before the error line)
    "integration/load/test_loader_server.py",
    "integration/load/test_loader_server_faults.py",
)


def _serial(item: pytest.Item) -> bool:
    if item.get_closest_marker("one_server") is not None:
        return True
    try:
        where = item.path.resolve().relative_to(TESTS).as_posix()
    except ValueError:  # a test outside this folder (the safety net's scratch sessions)
        return False
    return where.startswith(SERIAL_PATHS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _PG_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
        if _serial(item):
            item.add_marker(pytest.mark.serial)


def _skip_or_fail(reason: str) -> NoReturn:
    """Skip the test, or fail it when every test must run (CI sets SYNTHGEN_REQUIRE_POSTGRES=1)."""
    if _required():
        pytest.fail(f"{REQUIRE_ENV}=1 but this test cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def skip_or_fail() -> Callable[[str], NoReturn]:
    """For tests that cannot run here: skip(reason), or fail when SYNTHGEN_REQUIRE_POSTGRES=1."""
    return _skip_or_fail


def _postgres_unavailable(reason: str) -> NoReturn:
    _skip_or_fail(f"PostgreSQL unavailable: {reason}")


# --- the safety net: under SYNTHGEN_REQUIRE_POSTGRES=1 nothing skips -------------------------
# A skip from anywhere (a skipif mark, a direct pytest.skip, a fixture) becomes a failure that
# names the reason, and a skip this hook cannot see (at collection) fails the session, so a
# test added later cannot quietly not run in CI.


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if _required() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        reason = str(reason).removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"skipped, but {REQUIRE_ENV}=1 forbids skips: {reason}"
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if _required() and skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter is not None:
            reporter.write_line(f"{skipped} skipped under {REQUIRE_ENV}=1: failing the session")


@pytest.fixture(scope="session")
def pg_cluster_dir_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], Path]]:
    """Make empty cluster directories; every cluster in them is stopped at session end."""
    from synthgen.errors import ClusterError
    from synthgen.postgres.cluster import find_server_binaries, stop_cluster

    try:
        find_server_binaries()
    except ClusterError as exc:
        _postgres_unavailable(str(exc))
    made: list[tuple[Path, bool]] = []

    def make(name: str) -> Path:
        if os.geteuid() != 0:
            directory = tmp_path_factory.mktemp(name)
            made.append((directory, False))
            return directory
        # As root the server runs as `postgres`, which cannot enter /tmp/pytest-of-root (0700).
        directory = Path(tempfile.mkdtemp(prefix=f"synthgen-pg-{name}-"))
        made.append((directory, True))
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            _postgres_unavailable("running as root but there is no 'postgres' system user")
        os.chown(directory, account.pw_uid, account.pw_gid)
        return directory

    yield make
    for directory, remove in made:
        try:
            stop_cluster(directory)
        except ClusterError as exc:  # keep tearing the others down
            print(f"could not stop the test cluster in {directory}: {exc}")
        if remove:
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_dsn(request: pytest.FixtureRequest) -> str:
    """DSN of a real PostgreSQL server for the whole session ($SYNTHGEN_TEST_DSN wins)."""
    external = os.environ.get("SYNTHGEN_TEST_DSN")
    if external:
        return external
    from synthgen.errors import ClusterError
    from synthgen.postgres.cluster import ensure_cluster

    make_dir: Callable[[str], Path] = request.getfixturevalue("pg_cluster_dir_factory")
    try:
        return ensure_cluster(make_dir("session")).dsn
    except ClusterError as exc:
        _postgres_unavailable(str(exc))


# --- one tiny dataset for the whole run ----------------------------------------------------


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Some valid small dataset (dev band x 0.02, default spec), built once per test run, for
    the tests that only read it (load it, query it, draw a workload from it). A test that
    changes its files, or needs a given seed, scale or spec, builds its own."""
    from synthgen.generate.build import BuildOptions, build_dataset
    from synthgen.spec import load_spec

    out = tmp_path_factory.mktemp("tiny") / "ds"
    build_dataset(load_spec(), BuildOptions("dev", 0.02, "tiny", out, workers=2))
    return out


# --- the visibility map after the load's VACUUM (FREEZE) -------------------------------------
# PostgreSQL 16+ extends a table by several pages at once during COPY (bulk extension), which
# can leave all-zero, never-initialised pages at its end. VACUUM never sets the visibility map
# for such a page (vacuumlazy.c, lazy_scan_new_or_empty: "we do not enter the page into the
# visibilitymap") and truncates a table's empty tail only when it is at least 1000 pages or
# 1/16 of the table. Measured: a dev x 0.02 load left 18-21 of messages' 2776-2778 pages so on
# PostgreSQL 18 (every other page all-visible and all-frozen), none on 15. A settled table is
# then exactly: every initialised page all-visible and all-frozen, every other page all-zero.


@pytest.fixture(scope="session")
def unsettled_pages() -> Callable[[str, str], dict[str, list[int]]]:
    """`check(dsn, "schema.table")`: its initialised pages that are not all-visible
    ("not_visible") or not all-frozen ("not_frozen"), and its all-zero pages ("all_zero", which
    VACUUM never marks), read with pg_visibility and pageinspect."""
    from synthgen.postgres.connect import connect, execute, fetch_all

    def check(dsn: str, table: str) -> dict[str, list[int]]:
        conn = connect(dsn, autocommit=True)
        try:
            for extension in ("pg_visibility", "pageinspect"):
                execute(conn, f"CREATE EXTENSION IF NOT EXISTS {extension}")
            rows = fetch_all(
                conn,
                "SELECT v.blkno, v.all_visible, v.all_frozen, (SELECT h.upper = 0 FROM "
                "page_header(get_raw_page($1, v.blkno::int)) h) FROM "
                "pg_visibility_map($1::regclass) v WHERE NOT (v.all_visible AND v.all_frozen) "
                "ORDER BY v.blkno",
                (table,),
            )
        finally:
            conn.close()
        return {
            "not_visible": [int(r[0]) for r in rows if not r[1] and not r[3]],
            "not_frozen": [int(r[0]) for r in rows if not r[2] and not r[3]],
            "all_zero": [int(r[0]) for r in rows if r[3]],
        }

    return check
