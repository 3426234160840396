"""`--summary-md PATH` and `--junit PATH` for every gate's command, and each gate's result in the
shared CI shape (`synthgen.cioutput`). A command adds `@ci_options` and one `write_ci` call."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from synthgen.cioutput import Case, CiReport, combine, write_ci
from synthgen.verdict import GO

__all__ = ["ci_options", "write_ci"]


def ci_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add --summary-md and --junit; the command receives them as `ci: tuple[Path|None, ...]`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, summary_md: Path | None, junit: Path | None, **kwargs: Any) -> Any:
        return fn(*args, ci=(summary_md, junit), **kwargs)

    command: Callable[..., Any] = click.option(
        "--junit",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write JUnit XML: one test case per check or query, failures marked.",
    )(wrapper)
    return click.option(
        "--summary-md",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write a markdown summary for a pull-request comment (verdict first).",
    )(command)


def _pct(value: float) -> str:
    return f"{value:+.1%}"


def fidelity_ci(report: dict[str, Any], links: list[tuple[str, Path]]) -> CiReport:
    """A `validate` report (its JSON form): one case per check; the table lists the checks
    not PASS."""
    cases, rows = [], []
    for r in report["checks"]:
        bad = [m for m in r["metrics"] if m["status"] in ("FAIL", "WARN")]
        detail = ", ".join(f"{m['name']} {m['status']}" for m in bad) or r["status"]
        status = r["status"]
        name = f"check {r['number']} {r['name']}"
        cases.append(Case(name, status != "FAIL", detail, r["seconds"], status == "SKIP"))
        if status != "PASS":
            rows.append([str(r["number"]), r["name"], status, detail])
    decision = report["decision"]
    return CiReport(
        "fidelity",
        decision["verdict"],
        list(decision["reasons"]) or ["every check within tolerance"],
        ["#", "check", "status", "metrics"],
        rows,
        cases,
        links,
    )


def comparison_ci(result: dict[str, Any], links: list[tuple[str, Path]]) -> CiReport:
    """A `verify compare` result (its JSON form): one case per query x class x plan mode."""
    cases, rows = [], []
    for c in result["changes"]:
        name = f"{c['query']} {c['param_class']} {c['plan_mode']}"
        change = _pct(-c["improvement"])
        message = (
            f"p50 {c['pre_p50_ms']:.2f} -> {c['post_p50_ms']:.2f} ms ({change}), "
            f"plan: {c['plan_change']}"
        )
        cases.append(Case(name, not c["degraded"], message))
        rows.append(
            [
                c["query"],
                c["param_class"],
                c["plan_mode"],
                f"{c['pre_p50_ms']:.2f}",
                f"{c['post_p50_ms']:.2f}",
                change,
                "DEGRADED" if c["degraded"] else c["plan_change"],
            ]
        )
    if result["decision"] != GO:  # the gate's own rules: average, sorts, degraded count
        cases += [Case(f"rule: {reason}", False, reason) for reason in result["reasons"]]
    return CiReport(
        "index gate",
        result["decision"],
        list(result["reasons"]),
        ["query", "class", "plan mode", "pre p50 ms", "post p50 ms", "change", "plan"],
        rows,
        cases,
        links,
    )


def _load_of(row: dict[str, Any]) -> str:
    """The load a row was measured at: an offered rate (open loop) or a client count."""
    if "offered_tps" in row:
        return f"{row['offered_tps']:g} tx/s offered"
    return f"{row['clients']} clients"


def loadtest_ci(doc: dict[str, Any], links: list[tuple[str, Path]]) -> CiReport:
    """A `loadtest compare` result: one case per script (its worst judged p95 change)."""
    budget = doc["write_budget"]
    cases = []
    for key, change in sorted(doc["p95_change_by_query"].items()):
        message = f"p95 {_pct(change)} (budget {budget:.0%})"
        cases.append(Case(f"{key} p95", change <= budget, message))
    rows = [
        [
            r["query"],
            _load_of(r),
            f"{r['pre_p95_ms']:.2f}",
            f"{r['post_p95_ms']:.2f}",
            _pct(r["change_p95_ms"]),
            f"{r['post_tps']:.0f}",
        ]
        for r in doc["rows"]
    ]
    if doc["decision"] != GO:
        cases += [Case(f"rule: {reason}", False, reason) for reason in doc["reasons"]]
    return CiReport(
        "load test",
        doc["decision"],
        list(doc["reasons"]),
        ["script", "load", "pre p95 ms", "post p95 ms", "change", "post tx/s"],
        rows,
        cases,
        links,
    )


def rehearsal_ci(doc: dict[str, Any], links: list[tuple[str, Path]]) -> CiReport:
    """A rehearsal: one case per statement, per workload script's p99, and the INVALID check."""
    cases = [Case(c["name"], c["ok"], c["message"], c.get("seconds", 0.0)) for c in doc["checks"]]
    rows = []
    for st in doc["statements"]:
        if st.get("skipped"):
            rows.append([str(st["number"]), st["sql"], "not run", "", "", "", ""])
            continue
        worst = max((b["waited_s"] for b in st["blocked"]), default=0.0)
        index = st.get("index") or {}
        size = index.get("size_bytes")
        rows.append(
            [
                str(st["number"]),
                st["sql"],
                f"{st['seconds']:.2f}" if st["ok"] else "FAILED",
                f"{len(st['blocked'])} ({worst:.2f} s)",
                f"{st['wal_bytes'] / 1e6:.1f}",
                "" if size is None else f"{size / 1e6:.1f}",
                {True: "valid", False: "INVALID", None: ""}[index.get("valid")],
            ]
        )
    reasons = list(doc["reasons"]) + [f"warning: {f['message']}" for f in doc["findings"]]
    return CiReport(
        "rehearsal",
        doc["decision"],
        reasons,
        ["#", "statement", "seconds", "workload blocked (longest)", "WAL MB", "index MB", "valid"],
        rows,
        cases,
        links,
    )


def run_ci(summary: dict[str, Any]) -> CiReport:
    """`synthgen run`: every gate it ran, one row each; their cases under the gate's name."""
    import json

    files = {k: Path(v) for k, v in summary["artifacts"].items()}
    out = Path(summary["out"])
    parts = [
        fidelity_ci(json.loads(files["fidelity_json"].read_text()), []),
        comparison_ci(json.loads(files["compare"].read_text()), []),
    ]
    if summary.get("loadtest"):
        parts.append(loadtest_ci(json.loads((out / "loadtest-compare.json").read_text()), []))
    if summary.get("rehearsal"):
        parts.append(rehearsal_ci(json.loads((out / "rehearse.json").read_text()), []))
    links = [("run report", files["report"])]
    links += [
        (n, out / f)
        for n, f in (("load test", "loadtest.html"), ("rehearsal", "rehearse.html"))
        if (out / f).is_file()
    ]
    return combine("run", parts, links)


def refusal_ci(message: str) -> CiReport:
    """A script refused before running: the one refusal, as a failed case."""
    return CiReport(
        "rehearsal", "REFUSED", [message], cases=[Case("static checks", False, message)]
    )
