"""The `after_last` fill: what follows the last separator, the separator taken literally."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from synthgen.load.mapped.transform import _after_last

KEYS = ["att/c623/a879.jpg", "noslash", "ends/", "/lead", None, "", "a//b"]


def test_after_last_slash() -> None:
    got = _after_last(pa.array(KEYS), "/").to_pylist()
    assert got == ["a879.jpg", "noslash", "", "lead", None, "", "b"]


def test_after_last_takes_letters_literally() -> None:
    # a letter separator is a letter, not a regex escape ("\a" would be the bell character)
    values = pa.array(["xaaybaaz", "aaa", "baab", "none", None])
    assert _after_last(values, "aa").to_pylist() == ["z", "", "b", "none", None]
    assert _after_last(pa.array(["1.2.3", "x.y"]), ".").to_pylist() == ["3", "y"]


def test_after_last_of_nulls_only() -> None:
    assert _after_last(pa.array([None, None], pa.string()), "/").to_pylist() == [None, None]


@given(st.lists(st.one_of(st.none(), st.text(alphabet="ab/.", max_size=8)), max_size=40))
def test_after_last_is_rpartition(values: list[str | None]) -> None:
    want = [None if v is None else v.rpartition("/")[2] for v in values]
    assert _after_last(pa.array(values, pa.string()), "/").to_pylist() == want
