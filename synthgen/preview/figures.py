"""Sizes and times of a plan from recorded per-row figures (synthgen/sizing.json).

The figures are measured by `benchmarks/measure_sizing.py` on two small builds of the default
spec, loaded into the local cluster with their keys and the phase-2 indexes: for each table's
Parquet, heap (with TOAST), keys and phase-2 indexes a fixed size and a size per row (a line
through the two builds); seconds per row of generate, load and the
phase-2 index build; the fidelity gate's peak memory. A plan multiplies them by its rows. Per-row
sizes carry over between bands because every table's row width depends on the spec's model, not
on the band. Generate and validate times were measured as CPU seconds over the cores, so they are
rescaled to this machine's cores; load and index times are the measuring machine's wall times.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from synthgen.errors import SynthgenError
from synthgen.preview.rows import RowEstimate

SIZING_PATH = Path(__file__).resolve().parent.parent / "sizing.json"
UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


@cache
def sizing_figures(path: Path = SIZING_PATH) -> dict[str, Any]:
    """The recorded figures (package data)."""
    try:
        figures: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SynthgenError(f"{path}: cannot read the recorded sizing figures ({exc})") from None
    return figures


def parse_size(text: str, flag: str) -> int:
    """'2GiB', '500MB', '1.5GB' or plain bytes -> bytes; a one-line error names the flag."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in UNITS:
        raise SynthgenError(f"{flag}: {text!r} is not a size (e.g. 500MB, 2GiB, 1000000)")
    return int(float(match.group(1)) * UNITS[unit])


def human_bytes(n: float) -> str:
    """Decimal units, three significant digits: 1.23 GB."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def human_binary(n: float) -> str:
    """Binary units for memory: 512 MiB, 2.0 GiB."""
    if n >= 2**30:
        return f"{n / 2**30:.1f} GiB"
    return f"{n / 2**20:.0f} MiB"


def human_seconds(s: float) -> str:
    """12 s, 3.4 min, 1.2 h."""
    if s < 90:
        return f"{s:.0f} s" if s >= 10 else f"{s:.1f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


@dataclass(frozen=True)
class TableSize:
    """One table's predicted footprint, in bytes."""

    parquet: float
    heap: float  # table with TOAST, free-space and visibility maps
    keys: float  # primary key and phase-1 indexes, as the loader builds them
    phase2: float  # the phase-2 indexes on this table

    @property
    def postgres(self) -> float:
        """Everything the table occupies in PostgreSQL after the phase-2 indexes."""
        return self.heap + self.keys + self.phase2


def table_sizes(rows: dict[str, RowEstimate]) -> dict[str, TableSize]:
    """Fixed bytes + rows x bytes per row, per table (0 in PostgreSQL for tables not loaded)."""
    f = sizing_figures()
    out = {}
    for table, estimate in rows.items():
        pg = f["postgres_bytes"].get(table, {})

        def size(fixed_per: list[float] | None, n: float = estimate.mean) -> float:
            return 0.0 if fixed_per is None else fixed_per[0] + fixed_per[1] * n

        out[table] = TableSize(
            parquet=size(f["parquet_bytes"][table]),
            heap=size(pg.get("heap")),
            keys=size(pg.get("keys")),
            phase2=size(pg.get("phase2")),
        )
    return out


@dataclass(frozen=True)
class Times:
    """Expected wall seconds of each stage on the measured machine, and the gate's peak."""

    generate: float
    validate: float
    load: float
    indexes: float
    validate_peak_bytes: float
    memory_limit_bytes: int


def stage_times(
    rows: dict[str, RowEstimate], parquet_bytes: float, memory_limit_bytes: int
) -> Times:
    """Per-row rates x rows, plus each stage's fixed cost; the gate's peak RSS grows with the
    Parquet it reads until DuckDB's memory cap, above which only the cap's overhead remains."""
    r = sizing_figures()["rates"]
    v = sizing_figures()["validate"]
    m = sizing_figures()["measured"]
    # generate and validate were timed as CPU seconds over the measuring machine's cores
    # (generate: over its workers): rescale to the cores of the machine the plan runs on
    cores = os.cpu_count() or 1
    gen_factor = min(m["workers"], m["cores"]) / cores
    val_factor = m["cores"] / cores
    messages = rows["messages"].mean
    total = sum(e.mean for e in rows.values())
    peak = v["peak_fixed_bytes"] + v["peak_bytes_per_parquet_byte"] * parquet_bytes
    capped = memory_limit_bytes + v["peak_over_limit_bytes"]
    return Times(
        generate=(r["generate_fixed_seconds"] + r["generate_seconds_per_message"] * messages)
        * gen_factor,
        validate=(v["fixed_seconds"] + v["seconds_per_row"] * total) * val_factor,
        load=r["load_fixed_seconds"] + r["load_seconds_per_row"] * total,
        indexes=r["phase2_fixed_seconds"] + r["phase2_seconds_per_message"] * messages,
        validate_peak_bytes=min(peak, capped),
        memory_limit_bytes=memory_limit_bytes,
    )
