"""Will the disk hold it? Free space of --out and of the PostgreSQL server's data directory.

Each place is checked at its nearest existing ancestor (a run creates --out and the local
cluster's directory on demand). When both live on one filesystem, their needs add up. A place
is short when its free space minus what the run writes there is below `min_free`, the room a
filesystem should keep (a full disk fails a load half way and can stop the server).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOOPBACK = {"localhost", "127.0.0.1", "::1", ""}


@dataclass(frozen=True)
class DiskCheck:
    """One place the run writes to: what it needs there and what is free."""

    what: str  # "--out" or "server data directory"
    path: str
    needs: float  # bytes the run writes there (the other place's too when they share a disk)
    free: int | None  # None: not checked (see note)
    min_free: int
    note: str = ""

    @property
    def short(self) -> bool:
        """True when the run would leave less than min_free bytes free."""
        return self.free is not None and self.free - self.needs < self.min_free

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "what": self.what,
            "path": self.path,
            "needs_bytes": round(self.needs),
            "free_bytes": self.free,
            "min_free_bytes": self.min_free,
            "short": self.short,
            "note": self.note,
        }


def existing_ancestor(path: Path) -> Path:
    """The path itself or its nearest ancestor that exists."""
    current = path.expanduser().absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def server_data_directory(dsn: str | None) -> tuple[Path | None, str]:
    """Where the server keeps its data, if it can be known from here: the local cluster's
    directory without a DSN; else asked of the server (needs a superuser or
    pg_read_all_settings) and only when the server runs on this machine."""
    from synthgen.postgres.connect import DSN_ENV  # ADBC: only when a run loads
    from synthgen.postgres.dsn import dsn_hosts

    dsn = dsn or os.environ.get(DSN_ENV, "").strip() or None
    if dsn is None:
        from synthgen.postgres.cluster import DEFAULT_CLUSTER_DIR

        return DEFAULT_CLUSTER_DIR.absolute(), "the local cluster (created on demand)"
    hosts = dsn_hosts(dsn)
    if any(h not in LOOPBACK and not h.startswith("/") for h in hosts):
        return None, "not checked: the server is not on this machine"
    from synthgen.postgres.connect import connect, error_text, fetch_value

    try:
        conn = connect(dsn, autocommit=True)
    except Exception as exc:  # the plan still prints; the reason is stated
        return None, f"not checked: {error_text(exc, dsn)}"
    try:
        value = fetch_value(conn, "SELECT current_setting('data_directory')")
    except Exception:
        return None, "not checked: the role may not read data_directory"
    finally:
        conn.close()
    return Path(str(value)), "asked of the server"


def bytes_under(path: Path) -> int:
    """Bytes of the files under `path` (0 when it does not exist): what a resumed run keeps."""
    if not path.is_dir():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def check_disks(
    out: Path,
    parquet_bytes: float,
    dsn: str | None,
    postgres_bytes: float | None,
    min_free: int,
) -> list[DiskCheck]:
    """The --out check, and the server's when the run loads (postgres_bytes is not None).

    `parquet_bytes` is what is still to be written under `out`."""
    out_at = existing_ancestor(out)
    checks = [DiskCheck("--out", str(out), parquet_bytes, _free(out_at), min_free)]
    if postgres_bytes is None:
        return checks
    data_dir, how = server_data_directory(dsn)
    if data_dir is None:
        checks.append(DiskCheck("server data directory", "?", postgres_bytes, None, min_free, how))
        return checks
    data_at = existing_ancestor(data_dir)
    same = _device(data_at) == _device(out_at)
    needs = postgres_bytes + (parquet_bytes if same else 0.0)
    note = how + ("; on the same filesystem as --out: needs add up" if same else "")
    checks.append(
        DiskCheck("server data directory", str(data_dir), needs, _free(data_at), min_free, note)
    )
    if same:  # --out shares the disk: it must hold both too
        checks[0] = DiskCheck(
            "--out", str(out), needs, checks[0].free, min_free, "shares the server's filesystem"
        )
    return checks


def _free(path: Path) -> int | None:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def _device(path: Path) -> int:
    try:
        return path.stat().st_dev
    except OSError:
        return -1
