"""A throwaway PgBouncer in front of the target server: 127.0.0.1 only, transaction pooling.

Started and stopped by synthgen like its cluster: a private directory holds the config, the
userlist, the log and the pid file; as root the pooler runs as the ``postgres`` system user
(PgBouncer refuses to run as root). Clients are trusted (loopback only, a throwaway setup); the
pooler reaches the server with the target DSN's own user and password.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from synthgen.errors import LoadTestError
from synthgen.postgres.dsn import HOST, dsn_parts
from synthgen.postgres.server import free_port, server_account

INSTALL_HINT = "install PgBouncer (Debian/Ubuntu: apt-get install pgbouncer)"
POOL_DATABASE = "synthgen_pool"
_START_TIMEOUT_S = 15


@dataclass(frozen=True)
class Pooler:
    """A running PgBouncer: the DSN clients use, its pool size and its files."""

    dsn: str
    port: int
    pool_size: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    def exited(self) -> int | None:
        """PgBouncer's exit code if it is no longer running (killed, crashed), else None."""
        return self.process.poll() if self.process is not None else None


def find_pgbouncer() -> str:
    """The pgbouncer executable (PATH, then /usr/sbin), or LoadTestError saying how to install."""
    found = shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if Path(p).is_file()), None
    )
    if not found:
        raise LoadTestError(
            f"--pool pgbouncer: the pgbouncer executable was not found; {INSTALL_HINT}"
        )
    return found


def raise_open_files() -> int:
    """Lift the soft open-file limit to the hard one (thousands of clients need descriptors)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            return hard
    return soft


def _config(
    target: str, schema: str, pool_size: int, max_clients: int, port: int, root: Path
) -> str:
    parts = dsn_parts(target)
    server = " ".join(
        f"{key}={value}"
        for key, value in (
            ("host", parts.get("host", HOST)),
            ("port", parts.get("port", "5432")),
            ("dbname", parts.get("dbname", "postgres")),
            ("user", parts.get("user", "postgres")),
            ("password", parts.get("password")),
        )
        if value
    )
    # the search path is a property of the server connections: every pooled transaction sees it
    return f"""[databases]
{POOL_DATABASE} = {server} connect_query='SET search_path TO {schema}'

[pgbouncer]
listen_addr = {HOST}
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {root / "userlist.txt"}
pool_mode = transaction
default_pool_size = {pool_size}
max_db_connections = {pool_size}
reserve_pool_size = 0
max_client_conn = {max_clients + 16}
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = {root / "pgbouncer.log"}
pidfile = {root / "pgbouncer.pid"}
log_connections = 0
log_disconnections = 0
"""


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
            raise LoadTestError(f"pgbouncer exited at start: {' '.join(tail) or proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise LoadTestError(f"pgbouncer did not listen on {HOST}:{port} within {_START_TIMEOUT_S} s")


@contextlib.contextmanager
def pgbouncer(target: str, schema: str, pool_size: int, max_clients: int) -> Iterator[Pooler]:
    """Run a PgBouncer in front of `target` for the duration of the block, then stop it."""
    binary = find_pgbouncer()
    account = server_account()
    root = Path(tempfile.mkdtemp(prefix="synthgen-pgbouncer-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        if account is not None:
            os.chown(root, account.uid, account.gid)
        port = free_port()
        user = dsn_parts(target).get("user", "postgres")
        (root / "userlist.txt").write_text(f'"{user}" ""\n')
        config = root / "pgbouncer.ini"
        config.write_text(_config(target, schema, pool_size, max_clients, port, root))
        raise_open_files()
        with (root / "stdout.log").open("wb") as out:
            proc = subprocess.Popen(
                [binary, str(config)],
                cwd=root,
                stdout=out,
                stderr=subprocess.STDOUT,
                user=account.uid if account else None,
                group=account.gid if account else None,
                extra_groups=list(account.groups) if account else None,
                start_new_session=True,
            )
        _wait_listening(proc, port, root / "pgbouncer.log")
        dsn = f"postgresql://{quote(user, safe='')}@{HOST}:{port}/{POOL_DATABASE}"
        yield Pooler(dsn, port, pool_size, root, proc)
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # immediate shutdown: the run is over
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
