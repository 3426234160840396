"""The extension gate's figures: a judged finding, the report, the spec's intensity cumulated
hour by hour, and the noise models (Poisson counts, binomial shares, exact zeros)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthgen.fidelity.expected_time import diurnal_profile
from synthgen.gate import NOISE_Z
from synthgen.spec import Spec
from synthgen.units import EPOCH_WEEKDAY_SHIFT, US_PER_DAY, US_PER_HOUR

TABLES = (
    "users",
    "conversations",
    "conversation_users",
    "messages",
    "attachments",
    "read_receipts",
)
TIMES = {
    "users": "createdAt",
    "conversations": "createdAt",
    "conversation_users": "joinedAt",
    "messages": "createdAt",
    "attachments": "createdAt",
    "read_receipts": "readAt",
    "changes": "changedAt",
}


@dataclass(frozen=True)
class Finding:
    """One judged figure: what, observed, expected, the allowed deviation, PASS or FAIL."""

    check: str
    observed: float
    expected: float
    allowed: float

    @property
    def status(self) -> str:
        return "PASS" if abs(self.observed - self.expected) <= self.allowed + 1e-9 else "FAIL"


@dataclass(frozen=True)
class ChainReport:
    findings: list[Finding]

    @property
    def go(self) -> bool:
        return all(f.status == "PASS" for f in self.findings)


def upto(table: str, k: int) -> str:
    """Rows of `table` in the base and the deltas up to the k-th, as one SQL relation."""
    return "(" + " UNION ALL ".join(f"SELECT * FROM d{i}_{table}" for i in range(k + 1)) + ")"


class Intensity:
    """The spec's relative message rate hour by hour, cumulated from `start_us`."""

    def __init__(self, spec: Spec, start_us: int, end_us: int) -> None:
        hours = np.arange(start_us, end_us + US_PER_HOUR, US_PER_HOUR, dtype=np.int64)
        weekend = ((hours[:-1] // US_PER_DAY + EPOCH_WEEKDAY_SHIFT) % 7) >= 5
        rate = diurnal_profile(spec.time.diurnal)[(hours[:-1] // US_PER_HOUR) % 24]
        rate = rate * np.where(weekend, 1.0, spec.time.weekday_to_weekend)
        self.edges = hours.astype(np.float64)
        self.cumulative = np.concatenate([[0.0], np.cumsum(rate)])

    def at(self, t_us: Any) -> Any:
        return np.interp(np.asarray(t_us, dtype=np.float64), self.edges, self.cumulative)


def poisson(check: str, observed: float, expected: float) -> Finding:
    return Finding(check, observed, expected, NOISE_Z * math.sqrt(max(expected, 1.0)))


def binomial(check: str, observed: float, trials: float, p: float) -> Finding:
    return Finding(check, observed, trials * p, NOISE_Z * math.sqrt(max(trials * p * (1 - p), 1.0)))


def exact(check: str, observed: float) -> Finding:
    return Finding(check, observed, 0.0, 0.0)
