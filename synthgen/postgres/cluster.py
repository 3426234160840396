"""A throwaway local PostgreSQL cluster tuned for bulk loading.

A cluster directory (default ``.synthgen/postgres``) holds ``cluster.json`` (port, binaries,
version), ``data/`` (PGDATA, owned by ``postgres`` when synthgen runs as root), ``socket/`` and a
``.lock`` that serialises ensure_cluster / stop_cluster. The server listens on 127.0.0.1 only and
trusts the local superuser; its tuned settings are rewritten into ``data/synthgen.conf`` on every
start, and its log is ``data/server.log``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.errors import ClusterError
from synthgen.files import write_json_atomic
from synthgen.postgres.dsn import DATABASE, HOST, SUPERUSER, make_dsn, mask_dsn
from synthgen.postgres.server import (
    INSTALL_HINT,
    TOOL_TIMEOUT_S,
    Account,
    ServerBinaries,
    binaries_for_cluster,
    bulk_load_settings,
    check_reachable,
    find_server_binaries,
    free_port,
    has_prewarm,
    last_line,
    port_busy,
    render_settings,
    run_tool,
    runnable_by,
    server_account,
    server_choice,
)

DEFAULT_CLUSTER_DIR = Path(".synthgen/postgres")
_SETTINGS_FILE = "synthgen.conf"
_LOG_FILE = "server.log"
_SOCKET_PATH_MAX = 107  # sizeof(sun_path) minus the trailing NUL
# Start failures that clear once a killed server's processes are gone (we checked the port).
_RETRYABLE = re.compile(r"still in use|lock file .* already exists")

__all__ = [
    "DEFAULT_CLUSTER_DIR",
    "INSTALL_HINT",
    "ClusterInfo",
    "ClusterStatus",
    "ServerBinaries",
    "cluster_status",
    "ensure_cluster",
    "find_server_binaries",
    "make_dsn",
    "mask_dsn",
    "stop_cluster",
]


@dataclass(frozen=True)
class ClusterInfo:
    """A running managed cluster and how to reach it."""

    directory: Path
    data_dir: Path
    port: int
    pid: int
    version: str
    log_file: Path
    socket_dir: Path | None
    started: bool  # True when this call started the server, False when it was already up

    @property
    def dsn(self) -> str:
        return make_dsn(self.port)


@dataclass(frozen=True)
class ClusterStatus:
    """What ``cluster_status`` found in a cluster directory."""

    directory: Path
    data_dir: Path
    initialized: bool
    running: bool
    port: int | None
    pid: int | None
    version: str | None
    binaries: ServerBinaries | None  # what runs (or would run) this cluster; None: none found

    @property
    def dsn(self) -> str | None:
        return make_dsn(self.port) if self.port is not None else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (paths as strings)."""
        return {
            "directory": str(self.directory),
            "data_dir": str(self.data_dir),
            "initialized": self.initialized,
            "running": self.running,
            "port": self.port,
            "pid": self.pid,
            "version": self.version,
            "dsn": self.dsn,
            "source": self.binaries.source if self.binaries else None,
            "bindir": str(self.binaries.bindir) if self.binaries else None,
            "binaries_version": self.binaries.version if self.binaries else None,
        }


# --- state, pid file and paths ----------------------------------------------------------------


def _resolve(directory: Path | str | None) -> Path:
    return Path(directory if directory is not None else DEFAULT_CLUSTER_DIR).expanduser().resolve()


def _read_state(root: Path) -> dict[str, Any]:
    path = root / "cluster.json"
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ClusterError(f"{path} is unreadable ({exc}); delete it to pick a new port") from exc
    return state if isinstance(state, dict) else {}


def _write_state(root: Path, state: dict[str, Any]) -> None:
    write_json_atomic(root / "cluster.json", state, sort_keys=True)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _pidfile(data: Path) -> list[str]:
    """postmaster.pid lines: pid, data dir, start, port, socket dir, listen addr, shm, status."""
    try:
        return (data / "postmaster.pid").read_text().splitlines()
    except OSError:
        return []


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _running_pid(binaries: ServerBinaries, root: Path, account: Account | None) -> int | None:
    """The postmaster's pid when ``pg_ctl status`` says it runs (and the pid is a postgres)."""
    data = root / "data"
    proc = run_tool([binaries.tool("pg_ctl"), "status", "-D", str(data)], account, root)
    lines = _pidfile(data)
    pid = _as_int(lines[0]) if proc.returncode == 0 and lines else None
    return pid if pid is not None and pid > 0 and _is_postgres_process(pid) else None


def _is_postgres_process(pid: int) -> bool:
    """Whether ``pid`` is a live postgres process, not a zombie or a recycled pid (uses /proc)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except OSError:
        return True
    return b"postgres" in cmdline or b"postmaster" in cmdline


def _wait_ready(data: Path) -> None:
    deadline = time.monotonic() + TOOL_TIMEOUT_S
    while True:
        lines = _pidfile(data)
        status = lines[7].strip() if len(lines) > 7 else ""
        if status in ("ready", "standby"):
            return
        if status == "stopping" or time.monotonic() > deadline:
            raise ClusterError(f"PostgreSQL in {data} is not accepting connections ({status})")
        time.sleep(0.1)


def _info(root: Path, binaries: ServerBinaries, pid: int, started: bool) -> ClusterInfo:
    data = root / "data"
    lines = _pidfile(data)
    port = _as_int(lines[3]) if len(lines) > 3 else None
    if port is None:
        port = _as_int(_read_state(root).get("port"))
    if port is None:
        raise ClusterError(f"cannot tell the port of the PostgreSQL server in {data}")
    sock = lines[4].strip() if len(lines) > 4 else ""
    return ClusterInfo(
        root,
        data,
        port,
        pid,
        binaries.version,
        data / _LOG_FILE,
        Path(sock) if sock else None,
        started,
    )


# --- first start: directories, initdb, settings -----------------------------------------------


def _prepare_directories(root: Path, account: Account | None) -> None:
    if account is not None:
        check_reachable(root, account)
    data = root / "data"
    for path, mode in ((data, 0o700), (root / "socket", 0o755)):
        if not path.exists():
            path.mkdir(mode=mode)
            path.chmod(mode)
        if account is not None and path.stat().st_uid != account.uid:
            if path == data and (data / "PG_VERSION").exists():
                raise ClusterError(
                    f"{data} is not owned by the 'postgres' user; chown -R postgres {data}"
                )
            os.chown(path, account.uid, account.gid)


def _initdb(binaries: ServerBinaries, root: Path, account: Account | None) -> None:
    data = root / "data"
    args = [binaries.tool("initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust"]
    proc = run_tool([*args, "--encoding=UTF8", "--no-locale"], account, root)
    if proc.returncode != 0:
        raise ClusterError(f"initdb failed in {data}: {last_line(proc.stderr or proc.stdout)}")
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"\n# synthgen: tuned settings, rewritten on every start\ninclude '{_SETTINGS_FILE}'\n"
        )


def _write_settings(data: Path, settings: dict[str, str], account: Account | None) -> None:
    path = data / _SETTINGS_FILE
    path.write_text(render_settings(settings))
    path.chmod(0o600)
    if account is not None:
        os.chown(path, account.uid, account.gid)


def _start(binaries: ServerBinaries, root: Path, account: Account | None) -> None:
    data, log = root / "data", root / "data" / _LOG_FILE
    # pg_ctl status said "not running": a postmaster.pid still there was left by a crash, and
    # so was a socket lock naming a dead (or not yet reaped) postmaster.
    (data / "postmaster.pid").unlink(missing_ok=True)
    for lock in (root / "socket").glob(".s.PGSQL.*.lock"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if not _is_postgres_process(int(lock.read_text().split()[0])):
                lock.unlink()
    args = [binaries.tool("pg_ctl"), "start", "-D", str(data), "-l", str(log), "-w", "-s"]
    deadline = time.monotonic() + 15
    while True:
        offset = log.stat().st_size if log.exists() else 0
        proc = run_tool([*args, "-t", str(TOOL_TIMEOUT_S)], account, root)
        if proc.returncode == 0:
            return
        reason = _log_failure(log, offset) or last_line(proc.stderr or proc.stdout)
        if _RETRYABLE.search(reason) and time.monotonic() < deadline:
            time.sleep(0.5)  # a crashed postmaster or its backends are still exiting
            continue
        raise ClusterError(f"PostgreSQL did not start in {data}: {reason} (log: {log})")


def _log_failure(log: Path, offset: int) -> str | None:
    try:
        with log.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    found = [m for m in re.finditer(r"\b(?:FATAL|PANIC):.*", text)]
    return " ".join(found[-1].group(0).split()) if found else None


def _ensure_database(port: int) -> None:
    """Create the ``synthgen`` database on first start (idempotent)."""
    from adbc_driver_postgresql import dbapi  # heavy import: only when a server was started

    try:
        with (
            dbapi.connect(make_dsn(port, "postgres"), autocommit=True) as conn,
            conn.cursor() as cur,
        ):
            cur.execute(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'")
            if cur.fetchone() is None:
                cur.execute(f"CREATE DATABASE {DATABASE}")
    except dbapi.Error as exc:
        raise ClusterError(f"could not create database {DATABASE!r} on port {port}: {exc}") from exc
    # pg_prewarm lets baselines warm tables and indexes; installed once in this throwaway
    # database (public), never inside a target schema, which teardown must be able to drop
    with (
        contextlib.suppress(dbapi.Error),
        dbapi.connect(make_dsn(port, DATABASE), autocommit=True) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")


# --- public API -------------------------------------------------------------------------------


def ensure_cluster(
    directory: Path | str | None = None, port: int | None = None, server: str | None = None
) -> ClusterInfo:
    """Start the cluster in ``directory`` (running initdb on first use) and say how to reach it.

    ``server`` (system, embedded or auto; default $SYNTHGEN_PG_SERVER, else auto) chooses the
    binaries a new cluster gets (``find_server_binaries`` states the rule); an existing cluster
    keeps the binaries of its major version.

    An already running cluster is returned as is (``started=False``); a ``postmaster.pid`` left
    behind by a crash is cleared before starting. ``port`` defaults to the remembered one, else a
    free port on 127.0.0.1 picked on first use and remembered in ``cluster.json``.
    """
    root = _resolve(directory)
    if port is not None and not 0 < port < 65536:
        raise ClusterError(f"port {port} is out of range (1-65535)")
    account = server_account()
    with _locked(root):
        state = _read_state(root)
        binaries = binaries_for_cluster(root, state, server_choice(server))
        data = root / "data"
        pid = _running_pid(binaries, root, account) if (data / "PG_VERSION").is_file() else None
        if pid is not None:
            _wait_ready(data)
            info = _info(root, binaries, pid, started=False)
            if port is not None and port != info.port:
                raise ClusterError(
                    f"the cluster in {root} is already running on port {info.port}; stop it "
                    f"(synthgen postgres down --dir {root}) before asking for port {port}"
                )
            return info
        chosen = port or _as_int(state.get("port")) or free_port()
        if port_busy(chosen):
            raise ClusterError(f"port {chosen} on {HOST} is in use by another program; use --port")
        _prepare_directories(root, account)
        binaries = runnable_by(binaries, root, account)
        if not (data / "PG_VERSION").is_file():
            _initdb(binaries, root, account)
        remembered = {"bindir": str(binaries.bindir), "source": binaries.source}
        _write_state(root, {"port": chosen, "version": binaries.version, **remembered})
        socket_dir: Path | None = root / "socket"
        if len(str(root / "socket" / f".s.PGSQL.{chosen}")) > _SOCKET_PATH_MAX:
            socket_dir = None  # path too long for a Unix socket: TCP only
        settings = bulk_load_settings(chosen, socket_dir, has_prewarm(binaries))
        _write_settings(data, settings, account)
        _start(binaries, root, account)
        _ensure_database(chosen)
        pid = _as_int(_pidfile(data)[0]) if _pidfile(data) else None
        if pid is None:
            raise ClusterError(f"PostgreSQL started in {data} but wrote no postmaster.pid")
        return _info(root, binaries, pid, started=True)


def stop_cluster(directory: Path | str | None = None) -> bool:
    """Stop the cluster (fast shutdown, immediate if that fails); False if it was not running."""
    root = _resolve(directory)
    data = root / "data"
    if not (data / "PG_VERSION").is_file():
        return False
    account = server_account()
    with _locked(root):
        binaries = binaries_for_cluster(root, _read_state(root))
        if _running_pid(binaries, root, account) is None:
            return False
        reason = ""
        for mode in ("fast", "immediate"):
            args = [binaries.tool("pg_ctl"), "stop", "-D", str(data), "-m", mode, "-w", "-s"]
            proc = run_tool([*args, "-t", str(TOOL_TIMEOUT_S)], account, root)
            if proc.returncode == 0:
                return True
            reason = last_line(proc.stderr or proc.stdout)
        raise ClusterError(f"could not stop PostgreSQL in {data}: {reason}")


def cluster_status(directory: Path | str | None = None) -> ClusterStatus:
    """Whether the cluster in ``directory`` exists and runs, with its port, pid, version and DSN."""
    root = _resolve(directory)
    data = root / "data"
    state = _read_state(root)
    port = _as_int(state.get("port"))
    if not (data / "PG_VERSION").is_file():
        choice = server_choice()  # a bad $SYNTHGEN_PG_SERVER is an error, not "none found"
        try:
            would_use: ServerBinaries | None = find_server_binaries(choice)
        except ClusterError:
            would_use = None
        return ClusterStatus(root, data, False, False, port, None, None, would_use)
    binaries = binaries_for_cluster(root, state)
    pid = _running_pid(binaries, root, server_account())
    if pid is not None:
        port = _info(root, binaries, pid, started=False).port
    return ClusterStatus(root, data, True, pid is not None, port, pid, binaries.version, binaries)
