"""The HTML report: self-contained, one chart per distribution with both series and its status;
and a dataset from another spec is judged against the spec it is given."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from synthgen.fidelity import validate_dataset
from synthgen.fidelity.html import render_html
from synthgen.spec import load_spec

CHARTS = {
    "conversation_size",
    "messages_per_conversation",
    "content_length",
    "message_types",
    "hour_of_day",
    "day_of_week",
    "receipt_delay",
}


class _Svgs(HTMLParser):
    """Collects each chart <svg>: its name, the series groups and the elements inside them."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: list[dict[str, Any]] = []
        self.series: str | None = None
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "svg":
            self.charts.append({"name": a.get("data-chart"), "measured": [], "expected": []})
        elif tag == "g" and (a.get("class") or "").startswith("series "):
            self.series = (a.get("class") or "").split()[1]
        elif self.series and tag in ("rect", "polyline", "circle"):
            self.charts[-1][self.series].append((tag, a))

    def handle_endtag(self, tag: str) -> None:
        if tag == "g":
            self.series = None


def test_html_report_draws_every_distribution(kit: Any, fid_copy: Path, tmp_path: Path) -> None:
    page = tmp_path / "report" / "fidelity.html"
    result = kit.run_validate(str(fid_copy), "--html", str(page), "--quiet")
    assert result.exit_code == 0
    html = page.read_text()
    parser = _Svgs()
    parser.feed(html)
    assert {c["name"] for c in parser.charts} == CHARTS
    assert len(parser.charts) == len(CHARTS)  # one SVG per distribution
    for chart in parser.charts:
        bars = [e for e in chart["measured"] if e[0] == "rect"]
        lines = [e for e in chart["expected"] if e[0] == "polyline"]
        dots = [e for e in chart["expected"] if e[0] == "circle"]
        assert bars, chart["name"]
        assert len(lines) == 1, chart["name"]
        assert len(lines[0][1]["points"].split()) == len(dots) >= len(bars), chart["name"]
    # the pass/fail state beside each chart
    figures = re.findall(r'<figure data-check="(\w+)" data-status="(\w+)">', html)
    assert len(figures) == len(CHARTS)
    assert {status for _, status in figures} == {"PASS"}
    # self-contained: no scripts, no stylesheets or images fetched from anywhere
    assert "script" not in parser.tags and "link" not in parser.tags and "img" not in parser.tags
    assert re.findall(r"https?://[^\"' ]+", html) == ["http://www.w3.org/2000/svg"] * len(CHARTS)
    assert ">GO<" in html


def test_html_names_failing_checks(kit: Any, fid_copy: Path) -> None:
    kit.rewrite_table(fid_copy, "attachments", "SELECT * FROM attachments ORDER BY id OFFSET 5")
    report = validate_dataset(fid_copy, load_spec(), 0.15)
    html = render_html(report)
    assert ">NO-GO<" in html
    assert 'data-check="media" data-status="FAIL"' in html
    assert "check 4 media (critical) is FAIL: media messages without an attachment" in html


def test_dataset_from_a_spec_with_half_media(kit: Any, spec_variant: Any, tmp_path: Path) -> None:
    spec = spec_variant("media.ratio", 0.5)
    root = kit.build(tmp_path / "half-media", seed="media", scale=0.03, spec_path=spec)
    against_default = kit.run_validate(str(root), "--quiet")
    assert against_default.exit_code == 3
    report = kit.report_of(root)
    got = kit.statuses(report)
    assert got["media"] == "FAIL"
    assert {name for name, status in got.items() if status != "PASS"} == {"media"}
    ratio = kit.metric(report, "media", "media ratio")
    assert ratio["expected"] == 0.15 and 0.47 < ratio["measured"] < 0.53
    assert any("built from spec" in note for note in report["notes"])
    against_own = kit.run_validate(str(root), "--spec", str(spec), "--quiet")
    assert against_own.exit_code == 0, against_own.output
    own = kit.report_of(root)
    assert own["decision"]["verdict"] == "GO"
    assert kit.metric(own, "media", "media ratio")["expected"] == 0.5
    assert own["notes"] == []
