"""The open-loop load test's pure parts: SLOs, capacity, offered rates, the equal-load verdict,
the result file's schema and the charts' log ticks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from synthgen.errors import LoadTestError
from synthgen.loadtest.capacity import (
    derive_slo,
    find_capacity,
    offered_rates,
    parse_slo,
    rate_step_seconds,
)
from synthgen.loadtest.charts import LineChart, line_svg, log_ticks
from synthgen.loadtest.compare import compare_results
from synthgen.loadtest.sweep import read_result


def _q(p95: float, n: int = 100) -> dict[str, float]:
    return {"transactions": n, "p50_ms": p95 / 2, "p95_ms": p95, "p99_ms": p95 * 1.5, "tps": 1.0}


def _step(clients: int, tps: float, q4: float, w1: float) -> dict[str, Any]:
    return {"clients": clients, "tps": tps, "errors": 0, "queries": {"Q4": _q(q4), "W1": _q(w1)}}


# the figures (direct connections): Q4 p95 82 / 256 / 1403 ms before, 91 / 404 / 1553
# after, at 24.2 / 31.2 / 38.2 and 111.4 / 115.2 / 116.6 tx/s
PRE_STEPS = [_step(1, 24.2, 82, 2), _step(4, 31.2, 256, 4), _step(16, 38.2, 1403, 9)]
POST_STEPS = [_step(1, 111.4, 91, 2), _step(4, 115.2, 404, 5), _step(16, 116.6, 1553, 11)]


def test_slo_is_five_times_the_unloaded_p95_at_least_50_ms() -> None:
    slo = derive_slo(PRE_STEPS)
    assert slo["Q4"]["ms"] == 410.0 and slo["W1"]["ms"] == 50.0
    assert derive_slo(PRE_STEPS, {"Q4": 300})["Q4"] == {"ms": 300, "source": "given"}
    with pytest.raises(LoadTestError, match="--slo Q9"):
        derive_slo(PRE_STEPS, {"Q9": 5})
    assert parse_slo("q4=400, W1=50") == {"Q4": 400.0, "W1": 50.0}
    for bad in ("Q4", "Q4=0", "Q4=x", ""):
        with pytest.raises(LoadTestError, match="--slo"):
            parse_slo(bad)


def test_capacity_is_the_best_throughput_with_every_p95_under_its_slo() -> None:
    slo = derive_slo(PRE_STEPS)
    pre = find_capacity(PRE_STEPS, slo)
    assert (pre["tps"], pre["clients"]) == (31.2, 4)
    assert "at 16 clients Q4 p95 1403.0 ms > SLO 410.0 ms" in pre["reason"]
    post = find_capacity(POST_STEPS, slo)  # judged by the SLOs of before
    assert (post["tps"], post["clients"]) == (115.2, 4)
    none = find_capacity([_step(1, 10, 900, 2)], slo)
    assert none["tps"] == 0 and "no step met every SLO" in none["reason"]
    assert [r["rate"] for r in offered_rates(31.2, (0.25, 0.5, 0.8))] == [7.8, 15.6, 25.0]
    with pytest.raises(LoadTestError, match="capacity 0"):
        offered_rates(0.0, (0.5,))


def test_rate_steps_run_long_enough_for_the_rarest_script() -> None:
    mix = {"Q1": 40, "W1": 5, "Q4": 55}  # W1 is 5 %: 30 expected at 25 tx/s needs 24 s
    assert rate_step_seconds(25.0, mix, 10) == 24
    assert rate_step_seconds(1000.0, mix, 10) == 10
    assert rate_step_seconds(1.0, mix, 10) == 60  # capped at 6 x --duration


def _result(label: str, steps: list[dict[str, Any]], at_rates: list[tuple[float, float]],
            rates: tuple[float, ...] = (7.8, 15.6, 25.0)) -> dict[str, Any]:  # fmt: skip
    return {
        "kind": "synthgen-loadtest", "mode": "offered", "label": label, "pool": "none",
        "pool_size": None, "indexes": [], "mix": {"Q4": 15, "W1": 5}, "rate_clients": 16,
        "scripts": {"Q4": {"kind": "read", "name": "Q4"}, "W1": {"kind": "write", "name": "W1"}},
        "steps": steps, "slo": derive_slo(PRE_STEPS), "capacity": {"tps": 0.0},
        "rate_basis": {"label": "pre", "capacity_tps": 31.2},
        "rates": [
            {"offered_tps": r, "fraction": f, "tps": r, "duration_s": 10, "errors": 0,
             "queries": {"Q4": _q(q4), "W1": _q(w1)}}
            for r, f, (q4, w1) in zip(rates, (0.25, 0.5, 0.8), at_rates, strict=True)
        ],
    }  # fmt: skip


def test_equal_offered_load_judges_latency_and_capacity_apart() -> None:
    pre = _result("pre", PRE_STEPS, [(82, 2), (95, 2.5), (140, 3)])
    post = _result("post", POST_STEPS, [(80, 2.1), (84, 2.2), (91, 2.4)])
    go = compare_results(pre, post)
    assert go["decision"] == "GO", go["reasons"]
    assert go["capacity"]["pre"]["tps"] == 31.2 and go["capacity"]["post"]["tps"] == 115.2
    assert "capacity 31.2 → 115.2 tx/s" in go["reasons"][0]
    # Q4 91 ms where it was 140 at the same 25 tx/s: better; 190 ms is +36 % and +50 ms, more
    # than the budget and than a tenth of its 410 ms SLO; 175 ms (+35 ms) is within that tenth
    slower = _result("post", POST_STEPS, [(80, 2.1), (84, 2.2), (190, 2.4)])
    no_go = compare_results(pre, slower)
    assert no_go["decision"] == "NO-GO"
    assert no_go["reasons"] == [
        "at 25 tx/s offered (80% of before), Q4 p95 140.0 → 190.0 ms (+36%), over the 20% budget"
    ]
    near = compare_results(pre, _result("post", POST_STEPS, [(80, 2.1), (84, 2.2), (175, 2.4)]))
    assert near["decision"] == "GO"
    writes = compare_results(pre, _result("post", POST_STEPS, [(80, 9), (84, 9), (91, 9)]))
    assert writes["decision"] == "NO-GO" and len(writes["reasons"]) == 3
    assert all("write W1 p95" in r for r in writes["reasons"])
    # a 0.5 ms growth of a 2 ms write is +25 % but under the 2 ms noise floor
    small = compare_results(pre, _result("post", POST_STEPS, [(80, 2.5), (84, 2.6), (91, 3.7)]))
    assert small["decision"] == "GO"


def test_lower_capacity_is_no_go_naming_capacity() -> None:
    pre = _result("pre", PRE_STEPS, [(82, 2), (95, 2.5), (140, 3)])
    worse = [_step(1, 20, 300, 2), _step(4, 22, 700, 4)]  # only one client meets Q4's 410 ms
    lower = compare_results(pre, _result("post", worse, [(82, 2), (95, 2.5), (140, 3)]))
    assert lower["decision"] == "NO-GO"
    assert lower["reasons"][0].startswith("capacity fell: 31.2 → 20.0 tx/s (-36%")


def test_unequal_rates_or_modes_are_refused() -> None:
    pre = _result("pre", PRE_STEPS, [(82, 2), (95, 2.5), (140, 3)])
    other = _result("post", POST_STEPS, [(80, 2), (84, 2), (91, 2)], rates=(28.0, 57.0, 92.0))
    with pytest.raises(LoadTestError, match=r"equal offered rates.*--baseline PRE"):
        compare_results(pre, other)
    closed = {**pre, "mode": "closed-loop"}
    with pytest.raises(LoadTestError, match="closed-loop result and POST a offered"):
        compare_results(closed, pre)


def test_too_few_transactions_are_not_judged_and_say_so() -> None:
    pre = _result("pre", PRE_STEPS, [(82, 2), (95, 2.5), (140, 3)])
    post = _result("post", POST_STEPS, [(80, 2), (84, 2), (91, 2)])
    for r in pre["rates"]:
        r["queries"]["W1"]["transactions"] = 5
    few = compare_results(pre, post)
    assert few["decision"] == "NO-GO"
    assert few["reasons"][0].startswith("W1: too few transactions to judge at any offered rate")
    # every rate step's transactions together: the same rates and seconds on both sides
    pre["rates_pooled"], post["rates_pooled"] = {"W1": _q(3.0, 40)}, {"W1": _q(3.2, 40)}
    pooled = compare_results(pre, post)
    assert pooled["decision"] == "GO", pooled["reasons"]
    assert [r["query"] for r in pooled["pooled_rows"]] == ["W1"]
    post["rates_pooled"] = {"W1": _q(9.0, 40)}
    slow = compare_results(pre, post)
    assert slow["reasons"] == [
        "at the offered rates together (7.8, 15.6, 25 tx/s), write W1 p95 3.0 → 9.0 ms (+200%), "
        "over the 20% budget"
    ]


def test_a_result_missing_a_field_is_named_with_its_file(tmp_path: Path) -> None:
    good = _result("pre", PRE_STEPS, [(82, 2), (95, 2.5), (140, 3)])
    cases = [
        ({k: v for k, v in good.items() if k != "steps"}, "field 'steps' is missing"),
        ({**good, "steps": [{"clients": 1, "tps": 2}]}, r"field 'steps\[0\]\.queries' is missing"),
        ({**good, "capacity": {}}, "field 'capacity.tps' is missing"),
        ({**good, "rates": "x"}, "field 'rates' has the wrong type"),
        ({**good, "partial": True, "error": "boom"}, "partial result .*boom"),
    ]
    for doc, message in cases:
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(doc))
        with pytest.raises(LoadTestError, match=f"{re.escape(str(path))}: {message}"):
            read_result(path)
    path.write_text(json.dumps(good))
    assert read_result(path)["label"] == "pre"


def test_log_axes_carry_at_least_three_labelled_ticks() -> None:
    for lo, hi in ((5.6, 34), (1.0, 1.3), (0.4, 5000), (80, 140), (9.5, 10.5)):
        ticks = log_ticks(lo, hi)
        assert len(ticks) >= 3 and all(lo <= t <= hi for t in ticks), (lo, hi, ticks)
    series = {"pre, direct": [(1.0, 82.0), (4.0, 95.0)], "pre, pgbouncer (10)": [(1.0, 82.0)]}
    svg = line_svg(LineChart("Q4", "ms", series))
    assert len(re.findall(r'class="ytick"', svg)) >= 3
    # the pooled run is dashed with square markers: it shows where it lies on the direct line
    assert 'stroke-dasharray="6 4"' in svg and "<rect" in svg


def test_a_write_offered_alone_is_judged_at_its_equal_rate() -> None:
    pre = _result("pre", PRE_STEPS, [(82, 2), (95, 2.5), (140, 3)])
    post = _result("post", POST_STEPS, [(80, 2), (84, 2), (91, 2)])
    for r in pre["rates"] + post["rates"]:
        r["queries"]["W1"]["transactions"] = 5  # too rare in the mix at every rate

    def alone(p95: float, rate: float = 8.0) -> list[dict[str, Any]]:
        return [{"script": "W1", "offered_tps": rate, "duration_s": 10, "tps": rate,
                 "queries": {"W1": _q(p95, 80)}}]  # fmt: skip

    pre["write_steps"], post["write_steps"] = alone(1.5), alone(1.7)
    go = compare_results(pre, post)
    assert go["decision"] == "GO", go["reasons"]
    assert go["write_overhead"]["W1"]["p95_change"] == pytest.approx(0.2 / 1.5)
    post["write_steps"] = alone(12.0)
    slow = compare_results(pre, post)
    assert slow["reasons"] == [
        "at 8 tx/s of W1 alone offered, write W1 p95 1.5 → 12.0 ms (+700%), over the 20% budget"
    ]
    post["write_steps"] = alone(6.0)  # +4.5 ms: under 10 % of W1's 50 ms SLO
    assert compare_results(pre, post)["decision"] == "GO"
    post["write_steps"] = alone(1.7, rate=12.0)
    with pytest.raises(LoadTestError, match="W1 alone at 8 tx/s and POST at 12"):
        compare_results(pre, post)
