"""Per-query outcomes of a comparison: production's weights, targeted decisions, index gains.

- Weighted improvement: when the baselines carry production's numbers (captured query files),
  1 - exp(sum of share_q * log ratio_q), where ratio_q is the geometric mean of the query's
  post/pre p50 ratios over its parameter classes and plan modes and share_q its share of
  production's total time. Shown beside the unweighted one; it does not decide.
- Targeted decision (`--targets Q1,Q4`, or a `-- targets:` line in the phase-2 script): GO when
  every targeted query improves by at least the minimum (default 30 %) and no query, targeted or
  not, degrades (beyond noise and the floor, as compare.py defines it). Without targets the
  average rule of compare.py stands.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from synthgen.errors import VerifyError
from synthgen.verify.production import time_shares

MIN_TARGET_IMPROVEMENT = 0.30
_TARGETS = re.compile(r"^--\s*targets\s*:\s*(.+)$", re.IGNORECASE)


class Change(Protocol):
    query: str
    name: str
    pre_p50_ms: float
    post_p50_ms: float
    degraded: bool
    indexes_adopted: list[str]
    param_class: str
    plan_mode: str


def parse_targets(text: str | None) -> list[str]:
    """'Q1, q4' -> ['q1', 'q4'] (query keys are file-name prefixes, lower case)."""
    if not text:
        return []
    return sorted({t.strip().lower() for t in text.split(",") if t.strip()})


def script_targets(path: Path) -> list[str]:
    """The queries a phase-2 script's `-- targets: Q1, Q4` line names (empty when none)."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise VerifyError(f"{path}: cannot read ({exc.strerror})") from None
    for line in lines:
        match = _TARGETS.match(line.strip())
        if match:
            return parse_targets(match.group(1))
    return []


def query_ratios(changes: Sequence[Change]) -> dict[str, float]:
    """query -> geometric mean of its post/pre p50 ratios (classes x plan modes)."""
    return geometric_ratios((c.query, c.pre_p50_ms, c.post_p50_ms) for c in changes)


def geometric_ratios(p50s: Iterable[tuple[str, float, float]]) -> dict[str, float]:
    """query -> geometric mean of its post/pre ratios, from (query, pre p50, post p50) rows."""
    logs: dict[str, list[float]] = {}
    for query, pre, post in p50s:
        if pre > 0 and post > 0:
            logs.setdefault(query, []).append(math.log(post / pre))
    return {q: math.exp(sum(v) / len(v)) for q, v in logs.items()}


def weighted_improvement(ratios: dict[str, float], shares: dict[str, float]) -> float | None:
    """1 - the production-time-weighted geometric mean of the per-query ratios."""
    if not shares or set(shares) != set(ratios):
        return None
    return 1.0 - math.exp(sum(shares[q] * math.log(ratios[q]) for q in ratios))


def query_summary(
    changes: Sequence[Change], production: dict[str, dict[str, Any]], targets: list[str]
) -> list[dict[str, Any]]:
    """One row per query: its improvement, production's weights, what the indexes bought."""
    ratios = query_ratios(changes)
    shares = time_shares(production, sorted(ratios))
    rows = []
    for q in sorted(ratios):
        mine = [c for c in changes if c.query == q]
        numbers = production.get(q, {})
        rows.append(
            {
                "query": q,
                "name": mine[0].name,
                "improvement": 1.0 - ratios[q],
                "speedup": 1.0 / ratios[q],
                "targeted": q in targets,
                "degraded": sorted(f"{c.param_class}/{c.plan_mode}" for c in mine if c.degraded),
                "indexes": sorted({i for c in mine for i in c.indexes_adopted}),
                "calls": numbers.get("calls"),
                "share_calls": numbers.get("share_calls"),
                "share_time": shares.get(q),
            }
        )
    return rows


def targeted_reasons(
    rows: list[dict[str, Any]], targets: list[str], minimum: float, floor_ms: float
) -> list[str]:
    """Why a targeted change is NO-GO (empty: GO)."""
    known = {r["query"] for r in rows}
    unknown = [t for t in targets if t not in known]
    if unknown:
        raise VerifyError(
            f"--targets {', '.join(t.upper() for t in unknown)}: no such query in the baselines "
            f"(queries: {', '.join(sorted(q.upper() for q in known))})"
        )
    reasons = [
        f"targeted {r['query'].upper()} improved {r['improvement']:.0%}, less than {minimum:.0%}"
        for r in rows
        if r["targeted"] and r["improvement"] < minimum
    ]
    reasons += [
        f"{'targeted' if r['targeted'] else 'non-targeted'} {r['query'].upper()} degraded beyond "
        f"noise and the {floor_ms:g} ms floor ({', '.join(r['degraded'])})"
        for r in rows
        if r["degraded"]
    ]
    return reasons


def thresholds_line(targets: list[str], minimum: float, floor_ms: float, rule: str) -> str:
    """The thresholds the verdict used, printed with it."""
    if targets:
        named = ", ".join(t.upper() for t in targets)
        return (
            f"thresholds: each targeted query ({named}) improves >= {minimum:.0%}; no query "
            f"degrades beyond noise and the {floor_ms:g} ms floor"
        )
    return f"thresholds: {rule}; degradation floor {floor_ms:g} ms"
