"""A MIME type the default spec does not name still gets its own storage-key extension."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.spec import DEFAULT_SPEC_PATH, load_spec


def test_a_mime_type_added_to_the_spec_gets_its_extension(tmp_path: Path) -> None:
    raw: dict[str, Any] = json.loads(DEFAULT_SPEC_PATH.read_text())
    raw["media"]["attachments"]["IMAGE"]["mime_types"] = {"image/gif": 0.5, "image/heic": 0.5}
    spec_path = tmp_path / "gif.json"
    spec_path.write_text(json.dumps(raw))
    out = tmp_path / "ds"
    build_dataset(load_spec(spec_path), BuildOptions("dev", 0.005, "keys", out, workers=1))
    rows = duckdb.sql(
        "SELECT mimeType, regexp_extract(storageKey, '\\.([a-z0-9]+)$', 1) AS ext, count(*) "
        f"FROM read_parquet('{out}/attachments/*.parquet') WHERE kind = 'IMAGE' GROUP BY 1, 2"
    ).fetchall()
    found = {mime: ext for mime, ext, _ in rows}
    assert found == {"image/gif": "gif", "image/heic": "heic"}
    assert all(n > 0 for _, _, n in rows)
