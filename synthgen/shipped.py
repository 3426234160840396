"""Files shipped with synthgen: the default spec, the hot-path queries, the index scripts, DDL.

They live once in the repository, in the top-level ``specs/`` folder users read and edit.
``synthgen/data`` is a symbolic link to it, so an editable install reads ``specs/`` in place and
a wheel (or ``pip install .``) carries the same files as package data under ``synthgen/data``.
Code locates them through ``importlib.resources``, never relative to the checkout.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DATA_PACKAGE = "synthgen"
DATA_FOLDER = "data"


def shipped_path(*parts: str) -> Path:
    """The file-system path of a shipped file or folder, e.g. ``shipped_path("queries")``.

    pip installs packages as plain files, so the resource is a real path (a zipped install,
    which pip never makes, is not supported: the queries are read as a folder).
    """
    found = Path(str(resources.files(DATA_PACKAGE).joinpath(DATA_FOLDER, *parts)))
    return found.resolve()  # in a checkout: specs/..., the folder users edit


DEFAULT_SPEC_PATH = shipped_path("distribution-spec.json")
DEFAULT_QUERIES_DIR = shipped_path("queries")
DEFAULT_INDEX_SCRIPT = shipped_path("indexes", "phase-2.sql")
DEFAULT_ROLLBACK_SCRIPT = shipped_path("indexes", "phase-2-rollback.sql")
SCHEMA_SQL = shipped_path("schema.sql")
