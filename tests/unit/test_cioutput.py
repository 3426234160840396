"""The shared CI output: markdown (verdict first) and JUnit XML parsed back with xml.etree."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from synthgen.cioutput import MAX_ROWS, Case, CiReport, write_ci


def _report(tmp_path: Path, verdict: str, rows: int = 2) -> CiReport:
    return CiReport(
        "index gate",
        verdict,
        ["Q1 p50 +40% | slower"],
        ["query", "change"],
        [[f"Q{i}", f"{i}%"] for i in range(rows)],
        [Case("Q1 busy custom", verdict == "GO", "p50 1.0 -> 1.4 ms", 0.5), Case("Q2", True)],
        [("report", tmp_path / "out" / "report.html")],
    )


def test_markdown_puts_the_verdict_first_and_escapes_cells(tmp_path: Path) -> None:
    md = tmp_path / "ci" / "summary.md"
    write_ci(_report(tmp_path, "NO-GO"), md, None)
    lines = md.read_text().splitlines()
    assert lines[0] == "## ❌ NO-GO — synthgen index gate"
    assert lines[2] == "- Q1 p50 +40% \\| slower"
    assert "| query | change |" in lines and "| Q1 | 1% |" in lines
    assert "Reports: [report](../out/report.html)" in lines
    assert "2 checks, 1 failed." in lines


def test_markdown_table_is_capped(tmp_path: Path) -> None:
    md = tmp_path / "summary.md"
    write_ci(_report(tmp_path, "GO", rows=MAX_ROWS + 5), md, None)
    text = md.read_text()
    assert text.startswith("## ✅ GO")
    assert f"| Q{MAX_ROWS - 1} |" in text and f"| Q{MAX_ROWS} |" not in text
    assert "5 more rows in the report" in text


def test_junit_has_a_case_per_check_and_native_failures(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    write_ci(_report(tmp_path, "NO-GO"), None, junit)
    root = ET.parse(junit).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    failure = cases["Q1 busy custom"].find("failure")
    assert failure is not None and failure.get("message") == "p50 1.0 -> 1.4 ms"
    assert cases["Q1 busy custom"].get("time") == "0.500"
    assert cases["Q2"].find("failure") is None
    prop = suite.find("properties/property[@name='verdict']")
    assert prop is not None and prop.get("value") == "NO-GO"
