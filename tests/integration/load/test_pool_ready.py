"""run_ready over real connections: an item starts only after the items it needs have finished,
a free connection takes the first ready item (not the first in line), the first error stops new
items, and needs that can never be met are an error, not a hang."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from synthgen.load.pool import Pool, run_ready
from synthgen.postgres.connect import Connection, fetch_all


def _timed(
    spans: dict[str, tuple[float, float]], lock: threading.Lock, fail: str = ""
) -> Callable[[Connection, tuple[str, float]], str]:
    def work(conn: Connection, item: tuple[str, float]) -> str:
        name, seconds = item
        begun = time.monotonic()
        try:
            if name == fail:
                fetch_all(conn, "SELECT 1 / 0")
            fetch_all(conn, f"SELECT pg_sleep({seconds})")
        finally:
            conn.rollback()
        with lock:
            spans[name] = (begun, time.monotonic())
        return name

    return work


def test_an_item_waits_for_its_needs_and_a_ready_one_goes_first(pg_dsn: str) -> None:
    spans: dict[str, tuple[float, float]] = {}
    items = [("vacuum-big", 0.6), ("vacuum-small", 0.1), ("build-big", 0.1), ("build-small", 0.1)]
    needs = [frozenset[int](), frozenset[int](), frozenset({0}), frozenset({1})]
    with Pool(pg_dsn, 2) as pool:
        got = run_ready(pool, items, _timed(spans, threading.Lock()), needs)
    assert got == ["vacuum-big", "vacuum-small", "build-big", "build-small"]
    # each build started after its own table's vacuum ended
    assert spans["build-big"][0] >= spans["vacuum-big"][1]
    assert spans["build-small"][0] >= spans["vacuum-small"][1]
    # the small table's build did not wait behind the big one's (first in line, not ready)
    assert spans["build-small"][1] <= spans["vacuum-big"][1]


def test_the_first_error_stops_new_items_and_is_raised(pg_dsn: str) -> None:
    spans: dict[str, tuple[float, float]] = {}
    items = [("a", 0.3), ("b", 0.0), ("after-b", 0.0)]
    needs = [frozenset[int](), frozenset[int](), frozenset({1})]
    with Pool(pg_dsn, 2) as pool, pytest.raises(Exception, match="division by zero"):
        run_ready(pool, items, _timed(spans, threading.Lock(), fail="b"), needs)
    assert "after-b" not in spans  # it needed the failed item: never started
    assert "a" in spans  # the running one finished before the error was raised


def test_needs_that_can_never_be_met_are_an_error(pg_dsn: str) -> None:
    items = [("a", 0.0), ("b", 0.0)]
    needs = [frozenset({1}), frozenset({0})]  # each waits for the other
    with Pool(pg_dsn, 2) as pool, pytest.raises(ValueError, match="never run"):
        run_ready(pool, items, _timed({}, threading.Lock()), needs)
