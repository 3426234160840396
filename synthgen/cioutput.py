"""CI output for every gate: a markdown summary for a pull-request comment and JUnit XML.

One shape for all gates (fidelity, index gate, load-test compare, rehearsal): a verdict, its
reasons, a table of what changed, links to the HTML reports, and one case per check or query.
The markdown puts the verdict first; JUnit marks each failing case with a native ``<failure>``,
so a CI system lists exactly the checks that decided NO-GO. Plain standard library: any gate's
command can write it without pulling in another layer.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from synthgen.files import write_text_atomic
from synthgen.verdict import GO, NO_GO, decision

MAX_ROWS = 40  # a pull-request comment stays readable; the HTML report has everything


@dataclass(frozen=True)
class Case:
    """One check or query: a JUnit test case, failed when `ok` is False."""

    name: str
    ok: bool
    message: str = ""
    seconds: float = 0.0
    skipped: bool = False


@dataclass(frozen=True)
class CiReport:
    gate: str  # "fidelity", "index gate", "load test", "rehearsal"
    verdict: str  # GO | NO-GO | REFUSED
    reasons: list[str]
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    links: list[tuple[str, Path]] = field(default_factory=list)

    @property
    def go(self) -> bool:
        return self.verdict == GO


def combine(gate: str, parts: list[CiReport], links: list[tuple[str, Path]]) -> CiReport:
    """Several gates as one: NO-GO when any is not GO; a row per gate; each gate's cases
    prefixed with its name; each gate's reasons when it is not GO."""
    verdict = decision(all(p.go for p in parts))
    reasons = [f"{p.gate}: {r}" for p in parts if not p.go for r in p.reasons]
    reasons = reasons or [f"{p.gate}: GO" for p in parts]
    rows = [
        [
            p.gate,
            p.verdict,
            f"{sum(not c.ok and not c.skipped for c in p.cases)} of {len(p.cases)}",
            (p.reasons or [""])[0],
        ]
        for p in parts
    ]
    cases = [
        Case(f"{p.gate}: {c.name}", c.ok, c.message, c.seconds, c.skipped)
        for p in parts
        for c in p.cases
    ]
    return CiReport(
        gate,
        verdict,
        reasons,
        ["gate", "verdict", "failed checks", "first reason"],
        rows,
        cases,
        links,
    )


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _link(target: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(target.resolve(), base.resolve())).as_posix()
    except ValueError:  # another drive
        return target.resolve().as_posix()


def render_markdown(report: CiReport, base: Path) -> str:
    """Verdict line, reasons, the table (at most MAX_ROWS rows), the links (relative to base)."""
    mark = "✅" if report.go else "❌"
    lines = [f"## {mark} {report.verdict} — synthgen {report.gate}", ""]
    lines += [f"- {_cell(r)}" for r in report.reasons] + [""]
    if report.header and report.rows:
        lines.append("| " + " | ".join(_cell(h) for h in report.header) + " |")
        lines.append("|" + "---|" * len(report.header))
        for row in report.rows[:MAX_ROWS]:
            lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
        if len(report.rows) > MAX_ROWS:
            lines.append(f"\n… {len(report.rows) - MAX_ROWS} more rows in the report")
        lines.append("")
    failed = sum(not c.ok and not c.skipped for c in report.cases)
    if report.cases:
        lines.append(f"{len(report.cases)} checks, {failed} failed.")
        lines.append("")
    if report.links:
        lines.append(
            "Reports: " + ", ".join(f"[{_cell(n)}]({_link(p, base)})" for n, p in report.links)
        )
        lines.append("")
    return "\n".join(lines)


def junit_tree(report: CiReport) -> ET.Element:
    suites = ET.Element("testsuites", name="synthgen")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"synthgen {report.gate}",
        tests=str(len(report.cases)),
        failures=str(sum(not c.ok and not c.skipped for c in report.cases)),
        errors="0",
        skipped=str(sum(c.skipped for c in report.cases)),
        time=f"{sum(c.seconds for c in report.cases):.3f}",
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="verdict", value=report.verdict)
    for reason in report.reasons:
        ET.SubElement(props, "property", name="reason", value=reason)
    for case in report.cases:
        node = ET.SubElement(
            suite,
            "testcase",
            classname=f"synthgen.{report.gate.replace(' ', '_')}",
            name=case.name,
            time=f"{case.seconds:.3f}",
        )
        if case.skipped:
            ET.SubElement(node, "skipped", message=case.message)
        elif not case.ok:
            failure = ET.SubElement(node, "failure", message=case.message, type=NO_GO)
            failure.text = case.message
        elif case.message:
            ET.SubElement(node, "system-out").text = case.message
    return suites


def _write(path: Path, text: str) -> None:
    write_text_atomic(path, text, parents=True)


def write_ci(report: CiReport, summary_md: Path | None, junit: Path | None) -> None:
    """Write whichever of the two files was asked for (atomically)."""
    if summary_md is not None:
        _write(summary_md, render_markdown(report, summary_md.parent))
    if junit is not None:
        tree = junit_tree(report)
        ET.indent(tree)
        _write(junit, '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(tree, "unicode"))
