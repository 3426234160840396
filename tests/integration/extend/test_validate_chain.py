"""`synthgen validate BASE DELTA...`: the extension gate through the installed executable; a
delta altered after the fact (and its manifest re-signed) is NO-GO on the figure it breaks."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from support.extend import synthgen
from synthgen.manifest import FileEntry, dataset_digest, file_sha256

US_PER_DAY = 86_400_000_000


def altered(delta: Path, out: Path, table: str, change: Callable[[pa.Table], pa.Table]) -> Path:
    """A copy of `delta` whose `table` files went through `change`, its manifest re-signed."""
    shutil.copytree(delta, out)
    manifest = json.loads((out / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["table"] == table:
            path = out / entry["path"]
            pq.write_table(change(pq.read_table(path)), path)
            entry.update(bytes=path.stat().st_size, sha256=file_sha256(path))
            entry["rows"] = pq.ParquetFile(path).metadata.num_rows
    manifest["dataset_sha256"] = dataset_digest([FileEntry(**e) for e in manifest["files"]])
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def failed(result: Any) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.strip().startswith("FAIL")]


def test_the_chain_is_go_and_reports_every_figure(chain: dict[str, Path], tmp_path: Path) -> None:
    report = tmp_path / "chain.json"
    result = synthgen(
        "validate",
        str(chain["base"]),
        str(chain["ext1"]),
        str(chain["ext2"]),
        "--json",
        str(report),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    findings = json.loads(report.read_text())["findings"]
    days = [f for f in findings if "messages of the seam's rooms" in f["check"]]
    assert len(days) == 5 and all(f["expected"] > 1000 for f in days)
    assert {f["check"] for f in findings} >= {"ext1: leaves", "ext2: hard deletes", "ext1: edits"}


def test_a_time_before_the_seam_is_no_go(chain: dict[str, Path], tmp_path: Path) -> None:
    def back_two_days(table: pa.Table) -> pa.Table:
        created = table.column("createdAt")
        shifted = pc.subtract(created.cast(pa.int64()), 2 * US_PER_DAY).cast(created.type)
        first = pa.concat_arrays([shifted.combine_chunks()[:5], created.combine_chunks()[5:]])
        return table.set_column(table.schema.get_field_index("createdAt"), "createdAt", first)

    delta = altered(chain["ext1"], tmp_path / "early", "messages", back_two_days)
    result = synthgen("validate", str(chain["base"]), str(delta))
    assert result.returncode == 3, result.stdout + result.stderr
    fails = failed(result)
    assert any("messages.createdAt outside the extension" in line for line in fails), fails
    assert any("not rising across the seam" in line for line in fails), fails


def test_a_thinned_day_is_no_go(chain: dict[str, Path], tmp_path: Path) -> None:
    """A third of every message file dropped: each day's count falls far below its rate."""

    def thin(table: pa.Table) -> pa.Table:
        keep = pc.not_equal(pc.bit_wise_and(table.column("id"), 3), 0)  # 3 of 4 ids kept
        return table.filter(keep)

    delta = altered(chain["ext1"], tmp_path / "thin", "messages", thin)
    result = synthgen("validate", str(chain["base"]), str(delta))
    assert result.returncode == 3, result.stdout + result.stderr
    fails = failed(result)
    assert sum("messages of the seam's rooms" in line for line in fails) >= 2, fails


def test_a_delta_of_another_base_is_one_line_exit_1(chain: dict[str, Path], tmp_path: Path) -> None:
    skipped = synthgen("validate", str(chain["base"]), str(chain["ext2"]))
    assert skipped.returncode == 1
    lines = skipped.stderr.strip().splitlines()
    assert len(lines) == 1 and str(chain["ext2"]) in lines[0] and "extends dataset" in lines[0]
    missing = synthgen("validate", str(chain["base"]), str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "no manifest" in missing.stderr
