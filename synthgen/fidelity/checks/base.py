"""What a check is: a number, a name (as the spec's `fidelity.critical` list names it), a title,
a kind (distribution or integrity) and a function from the context to an Outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from synthgen.fidelity.context import CheckContext
from synthgen.fidelity.expected import Pmf
from synthgen.fidelity.results import Chart, Outcome

DISTRIBUTION = "distribution"
INTEGRITY = "integrity"


@dataclass(frozen=True)
class Check:
    """One unit of the gate. Adding a check means adding one of these to the registry."""

    number: int
    name: str
    title: str
    kind: str
    run: Callable[[CheckContext], Outcome]


def histogram_quantile(values: NDArray[np.int64], counts: NDArray[np.int64], q: float) -> float:
    """Smallest value whose cumulative share reaches q, from a (value, count) histogram."""
    order = np.argsort(values)
    v, c = values[order], counts[order]
    cdf = np.cumsum(c) / max(int(c.sum()), 1)
    return float(v[min(int(np.searchsorted(cdf, q - 1e-12)), len(v) - 1)])


def log2_edges(low: float, high: float) -> list[float]:
    """Bin edges at powers of two covering [low, high] (chart bins for heavy tails)."""
    first = int(np.floor(np.log2(max(low, 1))))
    last = int(np.ceil(np.log2(high + 1)))
    return [float(2**k) for k in range(first, last + 1)]


def log_binned_chart(
    name: str,
    title: str,
    x_label: str,
    low: float,
    high: float,
    values: NDArray[np.int64],
    counts: NDArray[np.int64],
    total: float,
    model: Pmf,
) -> Chart:
    """Measured shares in power-of-two bins against the model's mass in the same bins."""
    edges = np.array(log2_edges(low, high))
    measured = np.histogram(values, bins=edges, weights=counts)[0] / max(total, 1)
    return Chart(
        name,
        title,
        x_label,
        edges.tolist(),
        None,
        measured.tolist(),
        model.binned(edges).tolist(),
        log_x=True,
        log_y=True,
    )


def share(part: float, whole: float) -> float:
    """part / whole, 0 for an empty whole."""
    return part / whole if whole else 0.0
