"""One verdict for every gate: NO-GO exactly when a problem was found, exit codes 0 and 3."""

from __future__ import annotations

from synthgen.errors import gate_exit_code
from synthgen.verdict import Verdict, all_go, decision


def test_problems_make_a_no_go_whose_reasons_are_the_problems() -> None:
    called: list[bool] = []
    verdict = Verdict.of(["p95 grew 40 %"], lambda: called.append(True) or "never")
    assert (verdict.decision, verdict.reasons, verdict.go) == ("NO-GO", ["p95 grew 40 %"], False)
    assert called == []  # why-GO is not asked of a NO-GO: it may assume nothing went wrong


def test_no_problem_is_a_go_with_its_one_line_reason() -> None:
    verdict = Verdict.of([], lambda: "every targeted query improved")
    assert (verdict.decision, verdict.reasons, verdict.go) == (
        "GO",
        ["every targeted query improved"],
        True,
    )
    assert Verdict.of([]).reasons == []


def test_parts_are_go_only_when_every_part_is() -> None:
    assert all_go(["GO", "GO"]) == "GO"
    assert all_go(["GO", "NO-GO", "GO"]) == "NO-GO"
    assert (decision(True), decision(False)) == ("GO", "NO-GO")


def test_the_exit_codes_are_the_documented_api() -> None:
    assert (gate_exit_code("GO"), gate_exit_code("NO-GO")) == (0, 3)
    assert (gate_exit_code(True), gate_exit_code(False)) == (0, 3)
