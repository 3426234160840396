"""Shared state of a calibration: the spec being built, and the record of what was fitted."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from synthgen.calibrate import fit
from synthgen.sample.metrics import ShapeMetrics


@dataclass(frozen=True)
class FittedParam:
    """A spec field set from the metrics: its value, the base's, and how well the model fits."""

    path: str
    value: Any
    base: Any
    gof_kind: str  # "KS" (ordered fits), "TV" (shares), "exact" (a direct ratio), "-" (none)
    gof: float | None
    n: float
    note: str = ""


def sig(value: float, digits: int = 6) -> float:
    """Round to significant digits (specs stay readable)."""
    return float(f"{value:.{digits}g}")


class TooLittleData(ValueError):
    """The published metrics hold too little of something a required fit needs (a longer
    sampling window is the cure, which the calibrator's message says)."""


def shares(
    counts: dict[str, float], keys: tuple[str, ...], what: str = "observations"
) -> dict[str, float]:
    """Counts -> shares over `keys`, rounded, summing to exactly 1 (remainder on the largest)."""
    total = sum(counts.get(k, 0.0) for k in keys)
    if total <= 0:
        raise TooLittleData(f"no published {what}")
    out = {k: round(counts.get(k, 0.0) / total, 6) for k in keys}
    largest = max(keys, key=lambda k: out[k])
    out[largest] = round(1.0 - sum(v for k, v in out.items() if k != largest), 6)
    return out


def tv(counts: dict[str, float], model: dict[str, float]) -> float:
    """Total-variation distance between observed counts and model shares (over all categories)."""
    total = sum(counts.values())
    keys = set(counts) | set(model)
    return 0.5 * sum(abs(counts.get(k, 0.0) / total - model.get(k, 0.0)) for k in keys)


def get(raw: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of a JSON document."""
    node: Any = raw
    for part in path.split("."):
        node = node[part]
    return node


class Section:
    """Shared state of one calibration: the metrics, the spec copy, the record of fits."""

    def __init__(self, metrics: ShapeMetrics, spec: dict[str, Any]) -> None:
        self.m = metrics
        self.spec = spec
        self.base = _deep_copy(spec)
        self.params: list[FittedParam] = []
        self.notes: list[str] = []

    def set(
        self, path: str, value: Any, gof_kind: str, gof: float | None, n: float, note: str = ""
    ) -> None:
        """Set a spec field and record it."""
        parts = path.split(".")
        node = get(self.spec, ".".join(parts[:-1])) if len(parts) > 1 else self.spec
        base = get(self.base, path) if _has(self.base, path) else None
        node[parts[-1]] = value
        self.params.append(FittedParam(path, value, base, gof_kind, gof, n, note))

    def fitted(
        self, path: str, result: fit.Fit, parameters: int, value: Any, note: str = ""
    ) -> None:
        """Set a field from a fit when the data could pin it down; else keep the base's value."""
        if result.usable(parameters):
            self.set(path, value, "KS", result.ks, result.n, note)
        else:
            self.keep(path, "too few published buckets to fit")

    def given(self, path: str, value: Any, note: str) -> None:
        """Set a field the sampler fixed (a threshold, the window), not fitted."""
        self.set(path, value, "-", None, 0, note)

    def keep(self, path: str, reason: str) -> None:
        """Record that a field keeps the base's value, and why."""
        self.notes.append(f"{path}: kept from the base spec ({reason})")


def _has(raw: dict[str, Any], path: str) -> bool:
    try:
        get(raw, path)
    except (KeyError, TypeError):
        return False
    return True


def _deep_copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


def ordered(s: Section, name: str) -> fit.Binned:
    """An ordered histogram of the metrics, as binned data for a fit."""
    return fit.Binned.of(s.m.ordered(name))
