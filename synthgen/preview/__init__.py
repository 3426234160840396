"""`synthgen plan`: what a band will cost before building it — rows, Parquet and PostgreSQL
bytes, stage times, the fidelity gate's memory — and whether the disks will hold it.

Nothing is generated: rows come from the plan's skeleton (exact) or from the engine's
probabilities (expectation ± spread); sizes and times are rows x per-row figures measured on a
small build (synthgen/sizing.json, re-measured by benchmarks/measure_sizing.py).
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.generate.blueprint import make_plan
from synthgen.preview.disk import DiskCheck, check_disks
from synthgen.preview.figures import (
    TableSize,
    Times,
    human_binary,
    human_bytes,
    human_seconds,
    sizing_figures,
    stage_times,
    table_sizes,
)
from synthgen.preview.rows import SPREAD_SIGMAS, RowEstimate, receipt_model_name, table_rows
from synthgen.spec import Spec

DEFAULT_MIN_FREE = "1GB"


@dataclass(frozen=True)
class Preview:
    """A plan's predicted rows, sizes, times and disk checks."""

    band: str
    scale: float
    seed: str
    receipt_model: str
    rows: dict[str, RowEstimate]
    sizes: dict[str, TableSize]
    times: Times
    disks: list[DiskCheck]

    @property
    def parquet_bytes(self) -> float:
        """All Parquet files."""
        return sum(s.parquet for s in self.sizes.values())

    @property
    def postgres_bytes(self) -> float:
        """All tables with keys and phase-2 indexes."""
        return sum(s.postgres for s in self.sizes.values())

    @property
    def short(self) -> list[DiskCheck]:
        """The places whose free disk will not hold the run."""
        return [d for d in self.disks if d.short]

    def method(self) -> str:
        """How every figure was obtained, as printed under the table."""
        m = sizing_figures()["measured"]
        return (
            "rows: users, conversations, members and messages are exact (the plan's skeleton); "
            "attachments and read receipts are random draws: expectation "
            f"± {SPREAD_SIGMAS:g} binomial standard deviations (receipt model "
            f"'{self.receipt_model}'). Sizes and times: rows x per-row figures measured on "
            f"two builds of the default spec's band {m['band']} (x 0.005 and x {m['scale']:g}; "
            f"{m['command']}, {m['date']}, {m['cores']} cores, "
            f"PostgreSQL {m['postgres']}, Parquet {m['compression']}); PostgreSQL = heap with "
            "TOAST + primary keys and phase-1 indexes + phase-2 indexes (each a fixed size plus "
            "a size per row), WAL not included. Times: generate and validate from their CPU "
            f"seconds over this machine's {os.cpu_count()} cores (a lower bound for an idle "
            "machine), load (keys, foreign "
            f"keys and ANALYZE included) and phase-2 indexes wall times at load average "
            f"{m['load_average']:g}; the gate's time is a lower bound once its memory cap makes "
            "it spill."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (bytes and seconds)."""
        t = self.times
        return {
            "band": self.band,
            "scale": self.scale,
            "seed": self.seed,
            "tables": {
                name: {
                    **self.rows[name].to_dict(),
                    "parquet_bytes": round(s.parquet),
                    "postgres_bytes": round(s.postgres),
                    "postgres_heap_bytes": round(s.heap),
                    "postgres_keys_bytes": round(s.keys),
                    "postgres_phase2_bytes": round(s.phase2),
                }
                for name, s in self.sizes.items()
            },
            "parquet_bytes": round(self.parquet_bytes),
            "postgres_bytes": round(self.postgres_bytes),
            "seconds": {
                "generate": round(t.generate, 1),
                "validate": round(t.validate, 1),
                "load": round(t.load, 1),
                "indexes": round(t.indexes, 1),
            },
            "validate_peak_bytes": round(t.validate_peak_bytes),
            "validate_memory_limit_bytes": t.memory_limit_bytes,
            "disks": [d.to_dict() for d in self.disks],
            "fits": not self.short,
            "method": self.method(),
        }

    def render(self) -> str:
        """The table, times, disk checks and method, as `synthgen plan` prints them."""
        lines = [
            f"plan: band {self.band} x {self.scale:g}, seed {self.seed!r} (nothing generated)",
            f"{'table':<20} {'rows':>24} {'Parquet':>10} {'PostgreSQL':>11}",
        ]
        for name, s in self.sizes.items():
            r = self.rows[name]
            rows = f"{r.mean:,.0f}" if r.exact else f"~{r.mean:,.0f} ± {r.spread:,.0f}"
            pg = human_bytes(s.postgres) if s.postgres else "-"
            lines.append(f"{name:<20} {rows:>24} {human_bytes(s.parquet):>10} {pg:>11}")
        total = sum(r.mean for r in self.rows.values())
        lines.append(
            f"{'total':<20} {f'~{total:,.0f}':>24} {human_bytes(self.parquet_bytes):>10} "
            f"{human_bytes(self.postgres_bytes):>11}"
        )
        t = self.times
        lines.append(
            f"expected times: generate {human_seconds(t.generate)}, validate "
            f"{human_seconds(t.validate)} (peak ~{human_binary(t.validate_peak_bytes)} RSS, "
            f"memory limit {human_binary(t.memory_limit_bytes)}), load "
            f"{human_seconds(t.load)}, phase-2 indexes {human_seconds(t.indexes)}"
        )
        for d in self.disks:
            free = "free: unknown" if d.free is None else f"free {human_bytes(d.free)}"
            verdict = "" if d.free is None else ("  WILL NOT FIT" if d.short else "  ok")
            note = f" ({d.note})" if d.note else ""
            lines.append(
                f"disk {d.what} {d.path}: needs {human_bytes(d.needs)} + keep "
                f"{human_bytes(d.min_free)} free, {free}{verdict}{note}"
            )
        lines += textwrap.wrap(f"method: {self.method()}", 100, subsequent_indent="  ")
        return "\n".join(lines)


def make_preview(
    spec: Spec,
    band: str,
    scale: float,
    seed: str,
    out: Path,
    *,
    dsn: str | None = None,
    loads: bool = True,
    min_free: int = 10**9,
    memory_limit: int = 2 << 30,
    written: float = 0.0,
) -> Preview:
    """Plan (skeleton only, no messages) and predict; `loads` adds the server's disk check;
    `written` bytes already under `out` (a resumed run) are not needed again."""
    plan = make_plan(spec, band, scale, seed)
    rows = table_rows(spec, plan)
    sizes = table_sizes(rows)
    parquet = sum(s.parquet for s in sizes.values())
    postgres = sum(s.postgres for s in sizes.values())
    times = stage_times(rows, parquet, memory_limit)
    to_write = max(0.0, parquet - written)
    disks = check_disks(out, to_write, dsn, postgres if loads else None, min_free)
    return Preview(band, scale, seed, receipt_model_name(spec), rows, sizes, times, disks)
