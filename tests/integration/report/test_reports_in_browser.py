"""Every HTML report as a reader sees it: rendered by headless Chromium (Debian's `chromium`,
in SYSTEM_PACKAGES), with no console error, no text cut by its box (an SVG label outside its
chart, HTML text clipped or past the window), a legend naming every series of every chart, and
none of synthgen's own objects in user-facing lists. A full-page screenshot of each page is kept
in .ci/artifacts/reports/ (gitignored; CI uploads it as an artifact)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from support.browser import Browser, find_chromium
from support.paths import REPO
from support.runs import LoadtestRun

pytestmark = [pytest.mark.postgres, pytest.mark.one_server]
ARTIFACTS = REPO / ".ci" / "artifacts" / "reports"
PAGES = ("report.html", "fidelity.html", "loadtest.html")


@pytest.fixture(scope="module")
def run_dir(loadtest_run: LoadtestRun) -> Path:
    """The session's whole `synthgen run` with its load test (dev x 0.03): every page it writes."""
    assert loadtest_run.proc.returncode == 0, loadtest_run.proc.stderr  # the shipped indexes: GO
    return loadtest_run.out


@pytest.fixture(scope="module")
def browser(skip_or_fail: Callable[[str], NoReturn]) -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        skip_or_fail("chromium is not installed (Debian package `chromium`; make test installs it)")
    opened = Browser(binary)
    yield opened
    opened.close()


@pytest.mark.parametrize("page", PAGES)
def test_the_page_renders_clean_in_a_browser(run_dir: Path, browser: Browser, page: str) -> None:
    path = run_dir / page
    assert path.is_file(), f"the run wrote no {page}"
    seen = browser.render(path, ARTIFACTS / page.replace(".html", ".png"))
    assert seen.errors == []
    assert seen.overflow == [], "\n".join(str(o) for o in seen.overflow)
    charts = [c for c in seen.legends if len(c["series"]) > 1]
    assert charts, f"{page}: no chart with two or more series found"
    for chart in seen.legends:
        for series in chart["series"]:
            assert any(series in text for text in chart["legend"]), (
                f"{page}: chart {chart['chart']!r} has no legend for series {series!r}"
            )
    assert seen.screenshot is not None and seen.screenshot.stat().st_size > 10_000
    html = path.read_text()
    for internal in ("synthgen_loads_pkey", "synthgen_shards_pkey", "synthgen_lt_"):
        assert internal not in html.split("<h2>Stages</h2>")[0], f"{page} lists {internal}"


def test_the_latency_chart_has_a_legend_and_uncut_labels(run_dir: Path, browser: Browser) -> None:
    seen = browser.render(run_dir / "report.html", ARTIFACTS / "report-latency.png")
    latency = [c for c in seen.legends if c["chart"].startswith("p50 latency before and after")]
    assert len(latency) == 1
    assert sorted(latency[0]["series"]) == ["post", "pre"]
    assert latency[0]["legend"] == ["pre: before the indexes", "post: after the indexes"]
    assert not [o for o in seen.overflow if o.get("chart", "").startswith("p50 latency")]
