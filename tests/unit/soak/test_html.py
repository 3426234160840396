"""The soak's section of the report: the p50 table lists what both baselines measured, with the
change, and says how many post-index results the soak did not re-measure (never a NaN)."""

from __future__ import annotations

from synthgen.soak.html import soak_section


def _day(day: int) -> dict[str, object]:
    return {"day": day, "tables": {}, "indexes": {}, "w1_p50_ms": 0.5}


def test_the_p50_table_lists_what_both_measured_with_the_change() -> None:
    doc = {
        "days": [_day(0), _day(1), _day(2)],
        "verdict": {"decision": "GO", "reasons": ["the gain held"], "thresholds": "80 %"},
        "post_index": {"q1 heavy custom": 2.0, "q1 heavy generic": 2.5, "q2 median custom": 0.5},
        "post_soak": {"q1 heavy custom": 3.0, "q2 median custom": 0.25},
    }
    html = soak_section(doc)
    assert "Soak: 2 simulated days" in html
    assert "<td>q1 heavy custom</td><td>2.000</td><td>3.000</td><td>1.50x</td>" in html
    assert "<td>q2 median custom</td><td>0.500</td><td>0.250</td><td>0.50x</td>" in html
    assert "q1 heavy generic" not in html
    assert "1 post-index result has no post-soak measurement" in html
    assert "nan" not in html.lower()
