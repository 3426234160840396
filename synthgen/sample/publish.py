"""Raw server counts -> the published histograms: noise (optional), K-merging, suppression.

Raw counts never leave this module except through `publish`, which applies the privacy rules.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from synthgen.sample.errors import SampleError
from synthgen.sample.histograms import CATEGORICAL, HistogramSpec
from synthgen.sample.privacy import (
    add_noise,
    epsilon_split,
    merge_small,
    suppress_categories,
    threshold,
)

NEIGHBOURING = "one row of the counted unit added or removed (event-level, no per-user bound)"
RawCounts = dict[str, NDArray[np.float64] | dict[str, float]]


def empty_counts(specs: dict[str, HistogramSpec]) -> RawCounts:
    """Zeroed counters over every histogram's whole domain."""
    out: RawCounts = {}
    for name, spec in specs.items():
        if spec.kind == CATEGORICAL:
            out[name] = {c: 0.0 for c in spec.categories}
        else:
            out[name] = np.zeros(len(spec.edges) + 1, dtype=np.float64)
    return out


def collect(rows: list[tuple[Any, ...]], specs: dict[str, HistogramSpec], raw: RawCounts) -> None:
    """Add (metric, key, n) rows from the server to the counters (a few hundred rows at most)."""
    for metric, key, n in rows:
        if metric not in specs:
            continue  # e.g. attachments of a kind outside the contract
        target = raw[metric]
        if isinstance(target, dict):
            if key not in target:
                raise SampleError(f"the server returned an unexpected category for {metric}")
            target[key] += float(n)
        else:
            target[int(key)] += float(n)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def publish(
    raw: RawCounts,
    specs: dict[str, HistogramSpec],
    k: int,
    epsilon: float | None,
    rng: np.random.Generator | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The published histograms and the privacy block that states how they were protected."""
    split = epsilon_split(specs, epsilon)
    scales = {name: specs[name].sensitivity / share for name, share in split.items()}
    noise_rng = rng if rng is not None else np.random.default_rng()
    histograms: dict[str, Any] = {}
    for name, spec in specs.items():
        counts = raw[name]
        entry: dict[str, Any] = {"kind": spec.kind, "unit": spec.unit, "value": spec.value}
        if isinstance(counts, dict):
            values = np.asarray(list(counts.values()), dtype=np.float64)
            if name in scales:
                values = add_noise(values, scales[name], noise_rng)
            kept, suppressed = suppress_categories(dict(zip(counts, values, strict=True)), k)
            entry["counts"] = kept
            entry["suppressed"] = suppressed
        else:
            if name in scales:
                noisy = add_noise(counts, scales[name], noise_rng)
                buckets = threshold(spec.edges, noisy, k)
                entry["suppressed_buckets"] = int(np.count_nonzero((noisy > 0) & (noisy < k)))
            else:
                buckets = merge_small(spec.edges, counts, k)
                entry["merged_buckets"] = int(np.count_nonzero(counts > 0)) - len(buckets)
            entry["buckets"] = [
                {
                    "lo": _number(b.lo),
                    "hi": None if b.hi is None else _number(b.hi),
                    "count": int(b.count),
                }
                for b in buckets
            ]
            entry["suppressed"] = not buckets and bool(np.any(counts > 0))
        histograms[name] = entry
    privacy = {
        "min_bucket_count": k,
        "epsilon": epsilon,
        "mechanism": "laplace" if epsilon is not None else "none",
        "neighbouring": NEIGHBOURING,
        "epsilon_split": split,
        "noise_scale": scales,
    }
    return histograms, privacy
