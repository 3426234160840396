"""What `indexes prove` hands back: a table of index -> size, build time, read gain per query
(measured beside the planner's estimate) and write cost, and the final script — the kept set,
with the index gate's verdict on it — plus its rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.loadtest.prove_reads import weights_line
from synthgen.verify.suggest_script import render_rollback, render_script, write_files


def _gain(value: float | None) -> str:
    return "-" if value is None else f"{-value:+.0%}"


def _writes(writes: dict[str, Any]) -> str:
    """'W1 p50 1.20 ms, W2 p50 3.40 ms'."""
    return ", ".join(f"{k} p50 {ms:.2f} ms" for k, ms in sorted(writes["p50_ms"].items()))


def table_lines(report: dict[str, Any]) -> list[str]:
    """One block per index: verdict, size, build, write cost; one line per query x class it was
    suggested for, measured p50 before -> after and its gain beside the planner's estimate."""
    lines = [
        f"writes: W1 and W2 each run alone by one client for {report['write_seconds']} s, "
        "without and with each index; reads: client-timed p50",
        weights_line(report.get("production_shares") or {}),
    ]
    for row in report["indexes"]:
        verdict = "KEPT" if row["kept"] else "DROPPED"
        lines.append(
            f"{verdict} {row['index']}: {row['size_bytes'] / 1e6:.1f} MB, built in "
            f"{row['build_seconds']:.2f} s, write cost {row['write_cost']:+.0%} "
            f"({_writes(row['writes_without'])} -> {_writes(row['writes'])}); {row['why']}"
        )
        if row.get("weighted_gain") is not None:
            lines.append(f"  production-weighted read gain {_gain(row['weighted_gain'])}")
        for read in row["reads"]:
            if not read["suggested_for"] and report.get("estimated"):
                continue
            wrong = read.get("planner") not in (None, "", "right")
            share = read.get("share_time")
            lines.append(
                f"  {read['query']} {read['class']}: p50 {read['p50_before_ms']:.3f} -> "
                f"{read['p50_after_ms']:.3f} ms, measured {_gain(read['measured_gain'])}, "
                f"planner estimated {_gain(read['estimated_gain'])}"
                + (f", {share:.0%} of production's time" if share is not None else "")
                + (f"; PLANNER WRONG: {read['planner']}" if wrong else "")
            )
    together = report["together"]
    if together is None:
        lines.append("no index pays for itself: the proven script builds nothing")
    else:
        lines.append(
            f"kept together ({', '.join(report['kept'])}): index gate {together['decision']}, "
            f"write cost {together['write_cost']:+.0%} ({_writes(together['writes'])})"
        )
        lines += [f"  {r}" for r in together["reasons"]]
    return lines


def write_proven(report: dict[str, Any], suggestion: dict[str, Any], out: Path) -> list[Path]:
    """The kept set as a phase-2 script (suggest's comments plus the measured figures), its
    rollback and the prove report as JSON (out.json)."""
    rows = {r["index"]: r for r in report["indexes"]}
    known = {i["name"]: i for i in suggestion["indexes"]}
    # an index of a hand-written script (no suggest JSON beside it) has no estimates
    kept = [
        known.get(r["index"])
        or {"name": r["index"], "sql": r["sql"], "serves": [], "estimated_size_bytes": None}
        for r in report["indexes"]
        if r["kept"]
    ]
    extra = {}
    for index in kept:
        row = rows[index["name"]]
        best = max(
            (r for r in row["reads"] if r["suggested_for"]),
            key=lambda r: r["measured_gain"],
            default=None,
        )
        extra[index["name"]] = [
            f"measured: built in {row['build_seconds']:.2f} s, {row['size_bytes'] / 1e6:.1f} MB, "
            f"write cost {row['write_cost']:+.0%} ({_writes(row['writes'])})"
            + (
                f"; {best['query']} {best['class']} p50 {best['p50_before_ms']:.3f} -> "
                f"{best['p50_after_ms']:.3f} ms ({_gain(best['measured_gain'])})"
                if best
                else ""
            )
        ]
    together = report["together"]
    verdict = f"index gate {together['decision']}" if together else "nothing kept"
    dropped = [r["index"] for r in report["indexes"] if not r["kept"]]
    head = [
        f"Phase-2 indexes proven by `synthgen indexes prove` on schema {report['schema']}: built",
        "for real one at a time and together, client-timed reads and pgbench writes measured;",
        f"kept: {', '.join(i['name'] for i in kept) or 'none'} ({verdict}).",
        f"dropped: {', '.join(dropped) or 'none'} (figures in {out.with_suffix('.json').name}).",
    ]
    doc = {**suggestion, "indexes": kept}
    script = render_script(doc, head, extra)
    rollback = render_rollback([i["name"] for i in kept], out.name)
    return write_files(out, script, rollback, report)
