"""Check content_length on tiny datasets.

The spec here: TEXT lengths log-normal with mu = ln 20 and sigma = ln 4 / (2 x 0.6745), so the
quartiles of the uncapped law are 10, 20 and 40; 80 % of media messages captioned. Twelve TEXT
messages of lengths 10, 20, 40 and 80 (three each) have exactly those quartiles (the smallest
length whose cumulative share reaches 1/4, 1/2, 3/4), so the quantile fit gives back the spec's
mu and sigma; their mean is 150 / 4 = 37.5.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

IQR_Z = 0.6744897501960817
MU, SIGMA = math.log(20), math.log(4) / (2 * IQR_Z)
SPEC = {
    "content.length_lognormal": {"mu": MU, "sigma": SIGMA},
    "content.min_length": 1,
    "content.max_length": 2000,
    "content.caption_share": 0.8,
}
LENGTHS = [10, 20, 40, 80] * 3


def _text(n: int) -> str:
    return ("lorem ipsum dolor " * (n // 18 + 1))[:n]


def _world(
    tiny: Any,
    lengths: list[int],
    captioned: int = 0,
    media: int = 0,
    changes: dict[str, Any] | None = None,
) -> Any:
    w = tiny.world({**SPEC, **(changes or {})})
    cid = w.conversation(w.add_users(2))
    t = w.at(days=10)
    for n in lengths:
        w.message(cid, t, content=_text(n))
        t += tiny.MINUTE
    for i in range(media):
        w.message(cid, t, kind="IMAGE", content=_text(12) if i < captioned else None)
        t += tiny.MINUTE
    return w


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def _model_mean(mu: float, sigma: float, low: int, high: int) -> float:
    """E[clip(round(X), low, high)] for X log-normal, from the definition with math.erfc."""

    def cdf(x: float) -> float:  # P(X < x)
        return 0.0 if x <= 0 else _phi((math.log(x) - mu) / sigma)

    mass = {k: cdf(k + 0.5) - cdf(k - 0.5) for k in range(low + 1, high)}
    mass[low] = cdf(low + 0.5)
    mass[high] = 1 - cdf(high - 0.5)
    return sum(k * p for k, p in mass.items())


def test_known_lengths_give_back_the_spec(tiny: Any, tmp_path: Path) -> None:
    outcome = tiny.run(_world(tiny, LENGTHS).write(tmp_path / "ds"), "content_length")
    mu = tiny.metric(outcome, "mu (log median)")
    assert (mu.expected, mu.measured) == (pytest.approx(MU), pytest.approx(MU))
    sigma = tiny.metric(outcome, "sigma (log IQR)")
    assert (sigma.expected, sigma.measured) == (pytest.approx(SIGMA), pytest.approx(SIGMA))
    mean = tiny.metric(outcome, "mean length")
    assert mean.measured == 37.5
    assert mean.expected == pytest.approx(_model_mean(MU, SIGMA, 1, 2000), rel=1e-6)
    median = tiny.metric(outcome, "median length")
    # P(round(X) <= k) = Phi((ln(k + 0.5) - mu) / sigma) first reaches 1/2 at k = 20
    assert (median.expected, median.measured) == (20, 20)
    # twelve messages: mu's noise 4 x 1.2533 sigma / sqrt(12) / mu is wider than 0.15
    assert mu.noise == pytest.approx((4 * 1.2533 * SIGMA / math.sqrt(12) / MU,) * 2)
    assert mu.status == "SKIP"
    assert tiny.metric(outcome, "without content").measured == 0
    assert tiny.metric(outcome, "outside [1, 2000]").measured == 0
    # no media messages: no caption share to judge
    assert [m.name for m in outcome.metrics if "caption" in m.name] == []


@pytest.mark.parametrize(("messages", "judged"), [(9, False), (10, True)])
def test_ten_text_messages_are_needed(
    tiny: Any, tmp_path: Path, messages: int, judged: bool
) -> None:
    outcome = tiny.run(_world(tiny, LENGTHS[:messages]).write(tmp_path / "ds"), "content_length")
    names = [m.name for m in outcome.metrics]
    if judged:
        assert "mean length" in names
    else:
        m = tiny.metric(outcome, "TEXT length")
        assert (m.status, m.note) == ("SKIP", "insufficient data: 9 TEXT messages")
        assert "mean length" not in names


@pytest.mark.parametrize(("shortest", "outside"), [(5, 0), (4, 1)])
def test_lengths_outside_the_cap(tiny: Any, tmp_path: Path, shortest: int, outside: int) -> None:
    w = _world(tiny, [shortest, *LENGTHS], changes={"content.min_length": 5})
    outcome = tiny.run(w.write(tmp_path / "ds"), "content_length")
    m = tiny.metric(outcome, "TEXT lengths outside [5, 2000]")
    assert (m.measured, m.status) == (outside, "FAIL" if outside else "PASS")


def test_a_text_message_without_content(tiny: Any, tmp_path: Path) -> None:
    w = _world(tiny, LENGTHS)
    tables = w.tables()
    tables["messages"][0]["content"] = None
    outcome = tiny.run(w.write(tmp_path / "ds", tables), "content_length")
    assert tiny.metric(outcome, "TEXT messages without content").measured == 1
    assert tiny.status(outcome) == "FAIL"


def test_no_fit_when_the_cap_reaches_a_quartile(tiny: Any, tmp_path: Path) -> None:
    # min_length 10 is the lower quartile itself: clipped values may sit there
    w = _world(tiny, LENGTHS, changes={"content.min_length": 10})
    outcome = tiny.run(w.write(tmp_path / "ds"), "content_length")
    m = tiny.metric(outcome, "mu, sigma")
    assert (m.status, m.note) == (
        "SKIP",
        "the cap reaches the quartiles: a quantile fit is not possible",
    )


@pytest.mark.parametrize(
    ("captioned", "status"), [(80, "PASS"), (60, "PASS"), (59, "WARN"), (40, "WARN"), (39, "FAIL")]
)
def test_caption_share_at_the_tolerance(
    tiny: Any, tmp_path: Path, captioned: int, status: str
) -> None:
    # 100 media messages, spec 0.8: noise 4 sqrt(0.8 x 0.2 / 100) / 0.8 = 0.2 < tolerance 0.25
    w = _world(tiny, LENGTHS, captioned, media=100)
    outcome = tiny.run(w.write(tmp_path / "ds"), "content_length", 0.25)
    m = tiny.metric(outcome, "caption share")
    assert (m.expected, m.measured) == (0.8, captioned / 100)
    assert m.noise == pytest.approx((0.2, 0.2))
    assert m.status == status
