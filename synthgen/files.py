"""Files written whole or not at all: a temporary name beside the target, then a rename.

Every file synthgen writes for a reader (reports, manifests, baselines, state files) goes
through here, so a crash or a full disk leaves the old file or none, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Every temporary name carries this mark: a later run finds and removes a leftover by it.
TMP_MARK = ".tmp-"


def temp_path(path: Path, suffix: str = "") -> Path:
    """The temporary name for PATH: in the same directory (so the rename is atomic), hidden."""
    return path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}{suffix}")


def _remove(tmp: Path) -> None:
    if tmp.is_dir() and not tmp.is_symlink():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: Path, *, suffix: str = "", parents: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on a clean exit it replaces PATH, else it is removed.

    SUFFIX ends the temporary name (writers such as numpy's savez add ".npz" to a name
    without it); PARENTS creates PATH's directory first.
    """
    path = Path(path)
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path, suffix)
    _remove(tmp)  # a leftover of an earlier process with the same id
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def write_text_atomic(path: Path, text: str, *, parents: bool = False) -> Path:
    """Write TEXT (UTF-8) to PATH atomically; return PATH."""
    with atomic_path(path, parents=parents) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes_atomic(path: Path, data: bytes, *, parents: bool = False) -> Path:
    """Write DATA to PATH atomically; return PATH."""
    with atomic_path(path, parents=parents) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def json_text(
    payload: Any, *, sort_keys: bool = False, default: Callable[[Any], Any] | None = None
) -> str:
    """PAYLOAD as synthgen writes JSON files: indented by two, one newline at the end."""
    return json.dumps(payload, indent=2, sort_keys=sort_keys, default=default) + "\n"


def read_json(path: Path | str, label: str, error: type[Exception]) -> Any:
    """The JSON document at PATH; a missing, unreadable or malformed file raises ERROR with one
    line starting with LABEL (the flag or argument that named the file, and the path)."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise error(f"{label}: not found") from None
    except OSError as exc:
        raise error(f"{label}: cannot read ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise error(f"{label}: not valid JSON{line}") from None


def write_json_atomic(
    path: Path,
    payload: Any,
    *,
    sort_keys: bool = False,
    default: Callable[[Any], Any] | None = None,
    parents: bool = False,
) -> str:
    """Write PAYLOAD as JSON (see json_text) to PATH atomically; return the text written."""
    text = json_text(payload, sort_keys=sort_keys, default=default)
    write_text_atomic(path, text, parents=parents)
    return text
