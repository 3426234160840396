"""The compare report's per-query part: production's weights, the change, what indexes bought."""

from __future__ import annotations

from synthgen.verify.compare import Comparison


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def per_query_lines(result: Comparison) -> list[str]:
    """The thresholds the verdict used, the weighted improvement, and one line per query."""
    lines = [result.thresholds] if result.thresholds else []
    if result.weighted_improvement is not None:
        lines.append(
            f"improvement weighted by production's time {result.weighted_improvement:.0%} "
            f"(unweighted {result.average_improvement:.0%})"
        )
    if not result.queries:
        return lines
    lines.append(
        f"{'query':<5} {'prod. calls':>12} {'% calls':>8} {'% time':>7} {'change':>8} "
        f"{'speedup':>8}  bought by"
    )
    for row in result.queries:
        calls = "-" if row["calls"] is None else f"{int(row['calls']):,}"
        mark = " (target)" if row["targeted"] else ""
        bought = ", ".join(row["indexes"]) or "no new index"
        degraded = f"  DEGRADED {', '.join(row['degraded'])}" if row["degraded"] else ""
        lines.append(
            f"{row['query'].upper():<5} {calls:>12} {_share(row['share_calls']):>8} "
            f"{_share(row['share_time']):>7} {-row['improvement']:>+8.0%} "
            f"{row['speedup']:>7.1f}x  {bought}{mark}{degraded}"
        )
    return lines
