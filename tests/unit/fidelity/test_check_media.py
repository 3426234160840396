"""Check media on tiny datasets.

The spec here: 80 % of messages are media, a quarter of each kind. A hundred messages, 80 of
them media (20 of each kind): the ratio's noise is 4 sqrt(0.8 x 0.2 / 100) / 0.8 = 0.2, inside a
tolerance of 0.25, which then judges it; a kind's share has noise 4 sqrt(0.25 x 0.75 / 80) / 0.25
= 0.775, wider than any tolerance, so it is SKIPped unless far off.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SPEC = {
    "media.ratio": 0.8,
    "media.mix": {"IMAGE": 0.25, "VIDEO": 0.25, "DOCUMENT": 0.25, "AUDIO": 0.25},
}
KINDS = ("IMAGE", "VIDEO", "DOCUMENT", "AUDIO")
Tables = dict[str, list[dict[str, Any]]]


def _world(tiny: Any, media: int = 80, total: int = 100) -> Any:
    """`media` media messages (kinds in turn) and `total - media` TEXT ones, in one DIRECT room."""
    w = tiny.world(SPEC)
    cid = w.conversation(w.add_users(2))
    start = w.at(days=10)
    for i in range(total):
        kind = KINDS[i % 4] if i < media else "TEXT"
        w.message(cid, start + i * tiny.MINUTE, w.member_ids(cid)[i % 2], kind)
    return w


def test_known_ratio_and_mix(tiny: Any, tmp_path: Path) -> None:
    outcome = tiny.run(_world(tiny).write(tmp_path / "ds"), "media", 0.25)
    ratio = tiny.metric(outcome, "media ratio")
    assert (ratio.expected, ratio.measured, ratio.status) == (0.8, 0.8, "PASS")
    assert ratio.noise == pytest.approx((0.2, 0.2))
    for kind in KINDS:
        m = tiny.metric(outcome, f"{kind} share of media")
        assert (m.expected, m.measured) == (0.25, 0.25)
        assert m.noise == pytest.approx((4 * math.sqrt(0.25 * 0.75 / 80) / 0.25,) * 2)
    assert [m.measured for m in outcome.metrics if m.rule == "exact"] == [0, 0, 0, 0, 0]
    (chart,) = outcome.charts
    assert chart.labels == ["TEXT", *KINDS]
    assert chart.measured == pytest.approx([0.2, 0.2, 0.2, 0.2, 0.2])
    assert chart.expected == pytest.approx([0.2, 0.2, 0.2, 0.2, 0.2])


@pytest.mark.parametrize(
    ("media", "status"),
    [(60, "PASS"), (59, "WARN"), (100, "PASS"), (40, "WARN"), (39, "FAIL")],
)
def test_media_ratio_at_the_tolerance(tiny: Any, tmp_path: Path, media: int, status: str) -> None:
    # tolerance 0.25: a ratio of 0.6 or 1.0 deviates exactly 0.25, 0.4 exactly 0.5 (twice it)
    outcome = tiny.run(_world(tiny, media).write(tmp_path / "ds"), "media", 0.25)
    m = tiny.metric(outcome, "media ratio")
    assert m.measured == pytest.approx(media / 100)
    assert m.deviation == pytest.approx(abs(media / 100 - 0.8) / 0.8)
    assert m.status == status


def _drop(t: Tables) -> None:
    t["attachments"].pop(0)  # message 1's (an IMAGE)


def _twice(t: Tables) -> None:
    t["attachments"].append({**t["attachments"][-1], "id": len(t["attachments"]) + 1})


def _on_text(t: Tables) -> None:
    t["attachments"][-1]["messageId"] = 81  # the first TEXT message


def _kind(t: Tables) -> None:
    t["attachments"][0]["kind"] = "VIDEO"  # on an IMAGE message, with an image MIME type


def _mime(mime: str) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        t["attachments"][0]["mimeType"] = mime  # an IMAGE attachment

    return change


@pytest.mark.parametrize(
    ("change", "broken"),
    [
        (_drop, {"media messages without an attachment": 1}),
        (_twice, {"messages with more than one attachment": 1}),
        # the moved attachment leaves its media message without one
        (
            _on_text,
            {"TEXT messages with an attachment": 1, "media messages without an attachment": 1},
        ),
        (
            _kind,
            {
                "attachments whose kind differs from the message type": 1,
                # (VIDEO, image/jpeg) is not a pair the spec lists
                "attachments with a MIME type not listed for their kind": 1,
            },
        ),
        (_mime("image/gif"), {"attachments with a MIME type not listed for their kind": 1}),
        (_mime("video/mp4"), {"attachments with a MIME type not listed for their kind": 1}),
        (_mime("image/webp"), {}),
    ],
)
def test_attachment_rules(
    tiny: Any, tmp_path: Path, change: Callable[[Tables], None], broken: dict[str, int]
) -> None:
    w = _world(tiny)
    tables = w.tables()
    change(tables)
    outcome = tiny.run(w.write(tmp_path / "ds", tables), "media", 0.25)
    got = {m.name: m.measured for m in outcome.metrics if m.rule == "exact" and m.measured}
    assert got == broken
    assert tiny.status(outcome) == ("FAIL" if broken else "PASS")


def test_a_media_message_without_attachment_is_a_finding(tiny: Any, tmp_path: Path) -> None:
    w = _world(tiny)
    tables = w.tables()
    _drop(tables)
    outcome = tiny.run(w.write(tmp_path / "ds", tables), "media", 0.25)
    assert [(f.table, f.row_id) for f in outcome.findings] == [("messages", "1")]


def test_a_spec_without_media_and_a_dataset_without_media(tiny: Any, tmp_path: Path) -> None:
    # ratio 0 and no media messages match exactly; the mix of no media is not judged (it was
    # measured as 0 against each kind's share, and failed)
    w = tiny.world({**SPEC, "media.ratio": 0.0})
    cid = w.conversation(w.add_users(2))
    w.add_messages(cid, 10, w.at(days=1))
    outcome = tiny.run(w.write(tmp_path / "ds"), "media")
    ratio = tiny.metric(outcome, "media ratio")
    assert (ratio.expected, ratio.measured, ratio.status) == (0.0, 0.0, "PASS")
    for kind in KINDS:
        m = tiny.metric(outcome, f"{kind} share of media")
        assert (m.status, m.note) == ("SKIP", "insufficient data: no media messages")
    assert tiny.status(outcome) == "PASS"


def test_no_messages_at_all(tiny: Any, tmp_path: Path) -> None:
    w = tiny.world(SPEC)
    w.conversation(w.add_users(2))
    outcome = tiny.run(w.write(tmp_path / "ds"), "media")
    ratio = tiny.metric(outcome, "media ratio")
    assert (ratio.status, ratio.note) == ("SKIP", "insufficient data: no messages")
