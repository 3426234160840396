"""Samplers: supports, shapes and exact splits."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgen.engine import distributions as dist


def test_discrete_power_law_shape() -> None:
    rng = np.random.default_rng(1)
    x = dist.discrete_power_law(rng, 400_000, 1.8, 6, 9999)
    assert x.min() >= 6 and x.max() <= 9999
    # P(X = 7) / P(X = 6) = (7/6) ** -1.8 for a discrete power law
    ratio = (x == 7).sum() / (x == 6).sum()
    assert abs(ratio - (7 / 6) ** -1.8) < 0.02
    assert 12 <= np.median(x) <= 15


def test_truncated_geometric_support_and_ratio() -> None:
    rng = np.random.default_rng(2)
    x = dist.truncated_geometric(rng, 200_000, 0.25, 3, 20)
    assert x.min() == 3 and x.max() == 20
    assert abs((x == 4).sum() / (x == 3).sum() - 0.75) < 0.02


@settings(max_examples=50, deadline=None)
@given(total=st.integers(0, 10**9), n=st.integers(1, 300), seed=st.integers(0, 2**32 - 1))
def test_split_exact_sums_to_total(total: int, n: int, seed: int) -> None:
    weights = np.random.default_rng(seed).pareto(1.0, n) + 1.0
    parts = dist.split_exact(total, weights)
    assert parts.sum() == total and parts.min() >= 0


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.integers(6, 10_000), min_size=1, max_size=200),
    budget=st.integers(0, 500_000),
)
def test_cap_to_budget_fits_or_floors(values: list[int], budget: int) -> None:
    arr = np.array(values, dtype=np.int64)
    capped = dist.cap_to_budget(arr, budget, 6)
    assert np.all(capped <= arr) and np.all(capped >= 6)
    if arr.sum() <= budget:
        assert np.array_equal(capped, arr)
    elif 6 * len(arr) <= budget:
        assert capped.sum() <= budget


SHARES = [0.0, 0.05, 0.1, 0.35, 0.4, 1.0, 3.0]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(SHARES), min_size=1, max_size=24).filter(lambda s: sum(s) > 0),
    st.integers(0, 2**32 - 1),
)
def test_categorical_is_the_binary_search_of_its_draws(shares: list[float], seed: int) -> None:
    # the same draws as the searchsorted form it replaced, category for category (the output
    # of a build depends on it): a uniform u falls in the category of the cdf steps at or below it
    got = dist.categorical(np.random.default_rng(seed), 5000, np.asarray(shares))
    cdf = np.cumsum(shares) / np.cumsum(shares)[-1]
    u = np.random.default_rng(seed).random(5000)
    want = np.minimum(np.searchsorted(cdf, u, side="right"), len(shares) - 1)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)
    assert set(np.flatnonzero(np.asarray(shares) == 0)).isdisjoint(got.tolist())
