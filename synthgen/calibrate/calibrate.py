"""`synthgen calibrate`: turn production's shape metrics into a spec the generator accepts.

Every spec field the metrics inform is fitted (sections.py); the rest, including the bands, is
kept from the base spec. The result is validated with the spec's own loader before it is written.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen.calibrate import content, structure, timing
from synthgen.calibrate.section import FittedParam, Section, TooLittleData
from synthgen.errors import SpecError
from synthgen.files import write_json_atomic
from synthgen.gate import DEFAULT_TOLERANCE
from synthgen.generate.blueprint import largest_scale, smallest_scale
from synthgen.sample.errors import CalibrationError
from synthgen.sample.metrics import ShapeMetrics
from synthgen.spec import DEFAULT_SPEC_PATH, Spec, parse_spec

STEPS = (
    structure.conversations,
    structure.members,
    structure.regular_rooms,
    structure.heavy_rooms,
    content.content,
    content.media,
    timing.diurnal,
    timing.weekly,
    timing.burstiness,  # after the rest: it simulates the engine with the spec built so far
    timing.receipts,
    timing.users,
)


@dataclass(frozen=True)
class Calibration:
    """The calibrated spec (validated), what was fitted, and notes on what was kept."""

    spec: Spec
    params: list[FittedParam]
    notes: list[str] = field(default_factory=list)

    def moved(self, tolerance: float = DEFAULT_TOLERANCE) -> list[str]:
        """One line per fitted figure that moved beyond `tolerance` from the base spec: from
        what to what, that production's metrics say so, and whether the model fits them."""
        return [line for p in self.params for line in _moved(p, tolerance)]

    @property
    def raw(self) -> dict[str, Any]:
        return self.spec.raw


def _changes(path: str, value: Any, base: Any, tolerance: float) -> list[tuple[str, str]]:
    """(path, 'base → value (change)') for each number (or label) that moved beyond tolerance."""
    if isinstance(value, dict) and isinstance(base, dict):
        return [
            item
            for key in value
            for item in _changes(f"{path}.{key}", value[key], base.get(key), tolerance)
        ]
    numbers = (int, float)
    if isinstance(value, numbers) and isinstance(base, numbers) and not isinstance(value, bool):
        if base == value or (base and abs(value - base) / abs(base) <= tolerance):
            return []
        change = f" ({(value - base) / abs(base):+.0%})" if base else ""
        return [(path, f"{base:.4g} → {value:.4g}{change}")]
    if isinstance(value, str | bool) and value != base and base is not None:
        return [(path, f"{base} → {value}")]
    return []


def _moved(p: FittedParam, tolerance: float) -> list[str]:
    lines = []
    for path, change in _changes(p.path, p.value, p.base, tolerance):
        fit = "set from production's counts"
        if p.gof is not None and p.gof_kind in ("KS", "TV"):
            fit = f"the model fits production with {p.gof_kind} {p.gof:.3f}"
            if p.gof > tolerance:
                fit += (
                    f", above the {tolerance:.0%} tolerance: a dataset from this spec will differ "
                    "from production there and `validate --against` may say so; sample a longer "
                    "window, or set the field by hand"
                )
        counted = f" ({p.n:,.0f} observations)" if p.n else ""
        why = f" — {p.note}" if p.note else ""
        lines.append(f"{path} {change}, fitted to production's metrics{counted}{why}; {fit}")
    return lines


def load_base(path: Path | None) -> dict[str, Any]:
    """The base spec's JSON (validated), default the shipped specs/distribution-spec.json."""
    base_path = Path(path) if path is not None else DEFAULT_SPEC_PATH
    try:
        raw: dict[str, Any] = json.loads(base_path.read_text())
    except FileNotFoundError:
        raise SpecError(f"--base {base_path}: not found") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(f"--base {base_path}: not a readable JSON spec ({exc})") from None
    parse_spec(raw, source=str(base_path))
    return raw


def _ratios(metrics: ShapeMetrics, base: dict[str, Any]) -> list[str]:
    """Production's size ratios next to each band's (bands are kept; this says which is closest)."""
    users = sum(metrics.categorical("user_signup").values())
    conversations = sum(metrics.categorical("conversation_mix").values())
    messages = sum(metrics.categorical("message_types").values())
    if not (users and conversations and messages):
        return []
    per_conv = messages / conversations
    notes = [
        f"production: {per_conv:.0f} messages and {users / conversations:.2f} users per "
        "conversation in the window"
    ]
    closest = min(
        base["bands"],
        key=lambda b: abs(
            base["bands"][b]["messages"] / base["bands"][b]["conversations"] - per_conv
        ),
    )
    for name, band in base["bands"].items():
        ratio = band["messages"] / band["conversations"]
        mark = " (closest)" if name == closest else ""
        notes.append(f"band {name}: {ratio:.0f} messages per conversation{mark}")
    return notes


def calibrate(metrics: ShapeMetrics, base_raw: dict[str, Any]) -> Calibration:
    """Fit the spec's parameters to the metrics on top of a base spec (bands are kept)."""
    section = Section(metrics, json.loads(json.dumps(base_raw)))
    try:
        for step in STEPS:
            step(section)
    except TooLittleData as exc:
        raise CalibrationError(
            f"calibration failed in {step.__name__}: {exc} in {_window(metrics)}; sample a "
            "longer window (synthgen sample --window-days N, or --window-end DATE for an "
            "earlier one)"
        ) from None
    except ValueError as exc:
        raise CalibrationError(f"calibration failed in {step.__name__}: {exc}") from None
    fingerprint = metrics.raw["privacy"].get("salt_fingerprint", "unknown")
    section.spec["description"] = (
        "Calibrated by synthgen from production shape metrics "
        f"(salt fingerprint {fingerprint}, {metrics.thresholds.window_days}-day window) "
        "over a base spec; bands are the base spec's."
    )
    try:
        spec = parse_spec(section.spec, source="calibrated spec")
    except SpecError as exc:
        raise CalibrationError(f"the calibrated spec is invalid: {exc}") from None
    notes = [*section.notes, *_scales(spec, metrics), *_ratios(metrics, base_raw)]
    return Calibration(spec, section.params, notes)


def _window(metrics: ShapeMetrics) -> str:
    w = metrics.raw["window"]
    k = metrics.raw["privacy"].get("min_bucket_count", "?")
    return (
        f"the sampled window {w.get('start', '?')} to {w.get('end', '?')} "
        f"({w.get('days', '?')} days; buckets under K={k} are not published)"
    )


def _scales(spec: Spec, metrics: ShapeMetrics) -> list[str]:
    """Refuse when no band of the base can be generated at any scale; note the bands that can
    only be generated below their full size (production's heavy rooms outgrow them)."""
    m = spec.messages_per_conversation
    heavy = (
        f"production's heavy rooms ({m.heavy.fraction:.4g} of its active conversations, each "
        f">= {m.heavy.min_messages:,} messages in the window)"
    )
    notes, impossible = [], []
    for band in spec.bands:
        low, high = smallest_scale(spec, band), largest_scale(spec, band)
        if not math.isfinite(low) or low > high:
            impossible.append(band)
        elif high < 1:
            notes.append(
                f"band {band}: {heavy} outgrow its messages above --scale {high:.4g} "
                "(the heavy threshold shrinks with smaller scales)"
            )
    if impossible and len(impossible) == len(spec.bands):
        raise CalibrationError(
            f"{heavy} do not fit in any band of the base spec ({', '.join(impossible)}) at any "
            "scale: give a --base whose bands have more messages per conversation"
        )
    return notes + [f"band {band}: cannot be generated at any scale" for band in impossible]


def write_spec(calibration: Calibration, out: Path) -> Path:
    """Write the calibrated spec as JSON (temporary name, then rename)."""
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise CalibrationError(f"--out {out}: its directory {parent} does not exist")
    write_json_atomic(out, calibration.raw)
    return out
