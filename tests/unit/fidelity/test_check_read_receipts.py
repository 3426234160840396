"""Check read_receipts on tiny datasets.

The spec's delay bands (immediate 0.35 of receipts in [0.5 s, 30 s), near-term 0.40 in
[30 s, 1 h), delayed 0.15 in [1 h, 3 d), stale 0.10 in [3 d, 30 d]) with a read rate of 0.8.
Messages 40 days old are older than any delay, so every receipt of theirs fits before the
snapshot: the expected read rate is the spec's 0.8 and the band shares are the spec's shares.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

SPEC = {"read_receipts.read_rate": 0.8}
# receipts per band for 80 receipts of 100 messages, at the spec's shares, and a delay in each
DELAYS = {"immediate": (28, 10.0), "near_term": (32, 600.0), "delayed": (12, 7200.0)}
DELAYS["stale"] = (8, 5 * 86400.0)


def _world(tiny: Any, delays: list[float], messages: int = 100, age_s: float = 40 * 86400) -> Any:
    """A DIRECT room of `messages` messages from `age_s` before the snapshot, 0.1 s apart; the
    i-th of `delays` is the receipt of the i-th message by the member who did not send it."""
    w = tiny.world(SPEC)
    users = w.add_users(2)
    start = w.at(seconds=age_s)
    cid = w.conversation(users, created=start - tiny.HOUR)
    sent = [w.message(cid, start + i * tiny.US // 10, users[i % 2]) for i in range(messages)]
    for m, delay in zip(sent, delays, strict=False):
        w.receipt(m, users[1] if m["senderId"] == users[0] else users[0], round(delay * tiny.US))
    return w


def _spec_delays(receipts: int = 80) -> list[float]:
    delays = [d for n, d in DELAYS.values() for _ in range(n)]
    return delays[:receipts] if receipts <= 80 else delays + [10.0] * (receipts - 80)


def test_old_messages_read_at_the_spec_shares(tiny: Any, tmp_path: Path) -> None:
    outcome = tiny.run(_world(tiny, _spec_delays()).write(tmp_path / "ds"), "read_receipts", 0.25)
    rate = tiny.metric(outcome, "read rate")
    assert (rate.expected, rate.measured, rate.status) == (
        pytest.approx(0.8),
        pytest.approx(0.8),
        "PASS",
    )
    assert rate.noise == pytest.approx((0.2, 0.2))  # 4 sqrt(0.8 x 0.2 / 100) / 0.8
    for band, (n, _) in DELAYS.items():
        m = tiny.metric(outcome, f"{band} share")
        share = {"immediate": 0.35, "near_term": 0.40, "delayed": 0.15, "stale": 0.10}[band]
        assert (m.expected, m.measured) == (pytest.approx(share), pytest.approx(n / 80))
        assert m.noise == pytest.approx((4 * math.sqrt(share * (1 - share) / 80) / share,) * 2)
    assert tiny.metric(outcome, "receipts later than 30 d").measured == 0


@pytest.mark.parametrize(("receipts", "status"), [(60, "PASS"), (59, "WARN"), (100, "PASS")])
def test_read_rate_at_the_tolerance(tiny: Any, tmp_path: Path, receipts: int, status: str) -> None:
    # tolerance 0.25 against a noise of 0.2: 0.6 and 1.0 deviate exactly 0.25
    outcome = tiny.run(
        _world(tiny, _spec_delays(receipts)).write(tmp_path / "ds"), "read_receipts", 0.25
    )
    m = tiny.metric(outcome, "read rate")
    assert m.measured == pytest.approx(receipts / 100)
    assert m.status == status


@pytest.mark.parametrize(
    ("delay", "band"),
    [
        (29.999999, "immediate"),
        (30.0, "near_term"),  # a band holds its lower edge
        (3599.999999, "near_term"),
        (3600.0, "delayed"),
        (2_592_000.0, "stale"),  # the last band holds its upper edge too
        (2_592_000.000001, None),  # one microsecond beyond every band
    ],
)
def test_band_edges(tiny: Any, tmp_path: Path, delay: float, band: str | None) -> None:
    outcome = tiny.run(_world(tiny, [delay], messages=1).write(tmp_path / "ds"), "read_receipts")
    shares = {
        name: tiny.metric(outcome, f"{name} share").measured
        for name in ("immediate", "near_term", "delayed", "stale")
    }
    assert shares == {name: 1.0 if name == band else 0.0 for name in shares}
    beyond = tiny.metric(outcome, "receipts later than 30 d")
    assert (beyond.measured, beyond.status) == ((0, "PASS") if band else (1, "FAIL"))


def test_young_messages_expect_only_the_delays_that_fit(tiny: Any, tmp_path: Path) -> None:
    # 100 messages 590.5 to 600.4 s old: one age bin of 2 % (ages binned by ln(age) x 50),
    # modelled at its midpoint exp(319.5 / 50) s. A receipt fits before the snapshot if its
    # delay is below that age: the immediate band always, the near-term band with its
    # exponential CDF there (mean 600 s from 30 s, truncated at 1 h), the later bands never.
    age = math.exp(319.5 / 50)
    w = _world(tiny, [10.0] * 35 + [300.0] * 13, age_s=600.4)
    outcome = tiny.run(w.write(tmp_path / "ds"), "read_receipts", 0.25)
    near = (1 - math.exp(-(age - 30) / 570)) / (1 - math.exp(-(3600 - 30) / 570))
    rate = tiny.metric(outcome, "read rate")
    assert rate.expected == pytest.approx(0.8 * (0.35 + 0.40 * near), rel=1e-6)
    assert rate.measured == pytest.approx(0.48)
    assert tiny.metric(outcome, "immediate share").expected == pytest.approx(
        0.35 / (0.35 + 0.40 * near), rel=1e-6
    )
    delayed = tiny.metric(outcome, "delayed share")
    assert (delayed.expected, delayed.measured, delayed.status) == (0.0, 0.0, "PASS")
