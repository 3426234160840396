"""The index gate's text report: per query x class x plan mode, p50 with its 95 % interval before
and after, the decision, warnings, plan-mode findings, the brief's expectations, mitigations."""

from __future__ import annotations

from typing import Any

from synthgen.verify.compare import Comparison
from synthgen.verify.findings import BRIEF_NOTE
from synthgen.verify.gains import gain_lines
from synthgen.verify.plan_shapes import PlanChange


def _ci(bounds: list[float]) -> str:
    return f"[{bounds[0]:.3f}, {bounds[1]:.3f}]"


def _sorts(result: Comparison) -> str:
    """What became of the non-trivial sorts, in words (a reversed compare adds them)."""
    before, after = result.sorts_before, result.sorts_after
    if result.sorts_eliminated_share is not None:
        added = f"; {after - before} more after" if after > before else ""
        return f"{result.sorts_eliminated_share:.0%} of those before eliminated{added}"
    if after:
        return f"none before, so none to eliminate; the change adds {after}"
    return "none before or after"


def comparison_lines(result: Comparison) -> list[str]:
    """The compare report as lines of text."""
    other = "explain" if result.metric == "client" else "client"
    lines = [
        f"decision metric: {result.metric} p50 (95 % bootstrap interval); {other} p50 beside it; "
        f"plan modes: {result.plan_mode}; degraded = slower by Mann-Whitney p < 0.01, > 10 % "
        f"and > {result.floor_ms:g} ms",
        f"{'query':<26} {'class':<7} {'plan':<8} {'pre p50 [95% CI]':>26} "
        f"{'post p50 [95% CI]':>26} {'speedup':>8} {other + ' p50 pre → post':>21}  plan change",
    ]
    for c in result.changes:
        flag = "  DEGRADED" if c.degraded else ""
        lines.append(
            f"{c.name:<26} {c.param_class:<7} {c.plan_mode:<8} "
            f"{c.pre_p50_ms:9.3f} {_ci(c.pre_p50_ci):>16} "
            f"{c.post_p50_ms:9.3f} {_ci(c.post_p50_ci):>16} {c.speedup:7.1f}x "
            f"{c.other_metric_p50[0]:9.3f} → {c.other_metric_p50[1]:<9.3f}  {c.plan_change}{flag}"
        )
    lines.append(
        f"average improvement {result.average_improvement:.0%} ({result.metric} p50, geometric; "
        f"arithmetic {result.arithmetic_improvement:.0%}); sorts "
        f"{result.sorts_before} → {result.sorts_after} ({_sorts(result)}); degraded: "
        f"{', '.join(result.degraded_queries) or 'none'}"
    )
    lines.append(f"decision: {result.decision} — {'; '.join(result.reasons)}")
    lines += [f"  warning: {w}" for w in result.warnings]
    lines += [f"  finding: {f}" for f in result.findings]
    if result.expectations:
        lines.append(f"brief vs measured (information, not the verdict) — {BRIEF_NOTE}")
        for e in result.expectations:
            expected = (
                f"{-e['expected_improvement']:+.0%}"
                if e["expected_improvement"] is not None
                else "  n/a"
            )
            lines.append(
                f"  {e['name']:<26} brief {expected:>5}  measured "
                f"{-e['measured_improvement']:+.0%} (p50 post/pre, geometric mean over its "
                f"{e.get('pairs', '?')} class x plan-mode pairs); slowest: {e['slowest_class']} "
                f"{e['slowest_pre_p50_ms']:.2f} → {e['slowest_post_p50_ms']:.2f} ms"
            )
            if e.get("per_class"):
                lines.append(
                    f"  {'':<26} per class: "
                    + ", ".join(f"{k} {-v:+.0%}" for k, v in e["per_class"].items())
                )
    lines += [f"  mitigation: {m}" for m in result.mitigations]
    lines += [f"  new index: {line}" for line in gain_lines(result.new_indexes)]
    return lines


def plan_change_lines(changes: list[PlanChange], compared: int, a: str, b: str) -> list[str]:
    """The `verify plans` report as lines of text."""
    lines = [f"{compared} query x class x plan mode pairs compared ({a} vs {b})"]
    for c in changes:
        lines.append(
            f"{c.name} ({c.param_class}, {c.plan_mode} plan): {'; '.join(c.differences)}; "
            f"rows {c.rows[0]:,.0f} -> {c.rows[1]:,.0f}"
        )
        lines.append(f"    A: {c.before}")
        lines.append(f"    B: {c.after}")
    lines.append(
        f"plans: {len(changes)} changed" if changes else "plans: same shapes in every pair"
    )
    return lines


def baseline_lines(doc: dict[str, Any]) -> list[str]:
    """Per result of a baseline: client and EXPLAIN p50, buffer hit ratio, sorts."""
    lines = [f"cache: {doc.get('cache_method', doc.get('warm_up'))}"]
    for r in doc["results"]:
        hits = r.get("hit_ratio", {}).get("min")
        hit = f"{hits:.1%}" if hits is not None else "?"
        lines.append(
            f"  {r['name']:<26} {r['class']:<7} {r.get('plan_mode', '-'):<8} "
            f"client p50 {r['client_ms']['p50']:8.3f} ms  explain p50 "
            f"{r['explain_ms']['p50']:8.3f} ms  hit ratio min {hit}  sorts "
            f"{r['plan']['sort_count']}"
        )
    return lines
