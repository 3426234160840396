"""The shape-metrics document: its format, its keys, and a reader for calibration and comparison."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from synthgen.files import read_json
from synthgen.mapping import SAMPLED_COLUMNS
from synthgen.sample.buckets import Bucket
from synthgen.sample.errors import MetricsError
from synthgen.sample.histograms import CATEGORICAL, ORDERED, Thresholds

FORMAT = "synthgen-shape-metrics"
VERSION = 1
_STRUCTURE = {
    "format", "version", "synthgen_version", "window", "days", "start", "end", "thresholds",
    "large_group_min_members", "heavy_min_messages", "burst_min_messages", "privacy",
    "min_bucket_count", "epsilon", "mechanism", "neighbouring", "epsilon_split", "noise_scale",
    "salt_fingerprint", "source", "database", "schema", "tables", "histograms", "kind", "unit",
    "value", "buckets", "lo", "hi", "count", "counts", "suppressed", "merged_buckets",
    "suppressed_buckets",
}  # fmt: skip


def structural_keys(t: Thresholds) -> set[str]:
    """Every key the document's structure uses (histogram and category names come separately)."""
    return _STRUCTURE | set(SAMPLED_COLUMNS)


@dataclass(frozen=True)
class ShapeMetrics:
    """A loaded shape-metrics document."""

    raw: dict[str, Any]

    @property
    def thresholds(self) -> Thresholds:
        """The thresholds the sampler applied (and the window length)."""
        t = self.raw["thresholds"]
        return Thresholds(
            window_days=int(self.raw["window"]["days"]),
            large_group_min_members=int(t["large_group_min_members"]),
            heavy_min_messages=int(t["heavy_min_messages"]),
            burst_min_messages=int(t["burst_min_messages"]),
        )

    @property
    def window_end(self) -> datetime:
        """End of the sampled window (exclusive, UTC)."""
        end = datetime.strptime(self.raw["window"]["end"], "%Y-%m-%dT%H:%M:%SZ")
        return end.replace(tzinfo=UTC)

    def has(self, name: str) -> bool:
        """Whether a histogram is present (it may be empty)."""
        return name in self.raw["histograms"]

    def ordered(self, name: str) -> list[Bucket]:
        """The published buckets of an ordered histogram (empty when suppressed)."""
        entry = self._entry(name, ORDERED)
        return [
            Bucket(float(b["lo"]), None if b["hi"] is None else float(b["hi"]), float(b["count"]))
            for b in entry.get("buckets", [])
        ]

    def categorical(self, name: str) -> dict[str, float]:
        """The published counts of a categorical histogram (suppressed categories absent)."""
        entry = self._entry(name, CATEGORICAL)
        return {str(k): float(v) for k, v in entry.get("counts", {}).items()}

    def _entry(self, name: str, kind: str) -> dict[str, Any]:
        entry = self.raw["histograms"].get(name)
        if entry is None:
            raise MetricsError(f"shape metrics: histogram {name!r} is missing")
        if entry.get("kind") != kind:
            raise MetricsError(f"shape metrics: histogram {name!r} is not {kind}")
        return dict(entry)


def parse_metrics(raw: Any, source: str = "shape metrics") -> ShapeMetrics:
    """Check a parsed document's format and version."""
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise MetricsError(f"{source}: not a synthgen shape-metrics file (format {FORMAT!r})")
    if raw.get("version") != VERSION:
        raise MetricsError(f"{source}: unsupported version {raw.get('version')!r} (need {VERSION})")
    for key in ("window", "thresholds", "histograms", "privacy"):
        if not isinstance(raw.get(key), dict):
            raise MetricsError(f"{source}: field {key!r} is missing or not an object")
    return ShapeMetrics(raw)


def load_metrics(path: Path | str) -> ShapeMetrics:
    """Read a shape-metrics file written by `synthgen sample`."""
    p = Path(path)
    return parse_metrics(read_json(p, str(p), MetricsError), str(p))
