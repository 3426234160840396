"""Hand-built index-gate baselines with real, seeded sample sets, for the decision rules' tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from synthgen.verify.baseline import percentiles


def runs(median: float, n: int = 30, spread: float = 0.05, seed: int = 1) -> list[float]:
    """n timings scattered +-spread around `median` (a seeded, reproducible jitter)."""
    rng = np.random.default_rng(seed)
    return [float(x) for x in median * (1 + rng.uniform(-spread, spread, n))]


def result(
    query: str,
    cls: str,
    samples: list[float],
    sorts: int,
    indexes: list[str],
    seq: list[str] | None = None,
    mode: str = "custom",
) -> dict[str, Any]:
    server = [x / 2 for x in samples]
    return {
        "query": query,
        "name": query.upper(),
        "class": cls,
        "plan_mode": mode,
        "client_ms": percentiles(samples),
        "explain_ms": percentiles(server),
        "client_samples": samples,
        "explain_samples": server,
        "plan": {
            "sort_count": sorts,
            "indexes_used": {"messages": indexes},
            "large_seq_scans": seq or [],
            "estimate_errors": [],
        },
    }


def baseline(results: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "dataset_sha256": "d1",
        "schema": "s",
        "server": {"identity": "srv"},
        "results": results,
        **extra,
    }


PRE = baseline(
    [
        result("q1", "heavy", runs(20.0), 1, ["messages_conversationId_idx"]),
        result("q1", "median", runs(3.0), 1, ["messages_conversationId_idx"]),
        result("q3", "top1", runs(5.0), 1, [], ["conversation_users"]),
    ]
)
