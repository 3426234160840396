"""The golden dataset: a tiny fixed build whose content is pinned table by table.

Determinism tests compare two builds of one session, so a change that alters every byte of the
output would still pass them; this test compares against hashes committed in
`tests/golden/pins.json`. The hash is over the Arrow data sorted by the table's primary key,
not over the Parquet bytes, so a pyarrow or codec upgrade that re-encodes the same values does
not break it, while any change of a value, a row or a column does.

A change of output must update the pins in the same commit, with a line in CHANGELOG.md saying
why: rerun with `SYNTHGEN_REPIN_GOLDEN=1` to rewrite them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.schema import TABLES
from synthgen.spec import load_spec

PINS = Path(__file__).resolve().parents[2] / "golden" / "pins.json"
REPIN_VAR = "SYNTHGEN_REPIN_GOLDEN"
# `--band dev --seed golden` at the smallest round scale the planner accepts for dev (0.001 is
# refused: it leaves no large-group conversation; the minimum is ~0.0041).
BAND, SCALE, SEED = "dev", 0.005, "golden"


def _column_digest(column: pa.ChunkedArray, digest: hashlib._Hash) -> None:
    """Feed one column's values, nulls included, in a form independent of the file encoding."""
    array = column.combine_chunks()
    digest.update(str(array.type).encode())
    digest.update(pc.is_null(array).to_numpy(zero_copy_only=False).tobytes())
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        for value in array.to_pylist():
            raw = b"" if value is None else value.encode()
            digest.update(len(raw).to_bytes(8, "little") + raw)
    else:
        if pa.types.is_timestamp(array.type):
            array = array.cast(pa.int64())
        filled = array.fill_null(False if pa.types.is_boolean(array.type) else 0)
        digest.update(filled.to_numpy(zero_copy_only=False).astype("int64").tobytes())


def table_digest(dataset: Path, name: str) -> str:
    """sha256 of a table's rows sorted by its primary key, column by column."""
    files = sorted((dataset / name).glob("*.parquet"))
    table = pa.concat_tables([pq.read_table(f) for f in files])
    table = table.sort_by([(key, "ascending") for key in TABLES[name].primary_key])
    digest = hashlib.sha256(f"{name}:{table.num_rows}".encode())
    for field in table.schema:
        digest.update(field.name.encode())
        _column_digest(table.column(field.name), digest)
    return digest.hexdigest()


def test_golden_dataset_matches_its_pins(tmp_path: Path) -> None:
    out = tmp_path / "golden"
    build_dataset(load_spec(), BuildOptions(BAND, SCALE, SEED, out, workers=1))
    found = {name: table_digest(out, name) for name in TABLES}
    if os.environ.get(REPIN_VAR) == "1":
        PINS.write_text(
            json.dumps({"band": BAND, "scale": SCALE, "seed": SEED, "tables": found}, indent=2)
            + "\n"
        )
        pytest.skip(f"{REPIN_VAR}=1: pins rewritten in {PINS}; say why in CHANGELOG.md")
    pinned = json.loads(PINS.read_text())["tables"]
    changed = sorted(name for name in TABLES if pinned.get(name) != found[name])
    assert not changed, (
        f"the golden dataset's content changed in {', '.join(changed)}. If the change of output "
        f"is intended, rerun `{REPIN_VAR}=1 .venv/bin/pytest -q "
        "tests/integration/generate/test_golden.py` to rewrite tests/golden/pins.json and add a "
        "line to CHANGELOG.md saying why, in the same commit."
    )
