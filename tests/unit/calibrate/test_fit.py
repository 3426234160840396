"""Binned maximum-likelihood fits recover the engine's own parameters."""

from __future__ import annotations

import numpy as np
import pytest

from synthgen.calibrate import fit
from synthgen.calibrate.bursts import busy_rooms, spec_cv_for
from synthgen.engine import distributions as dist
from synthgen.engine.timemodel import median_gap_cv
from synthgen.sample.buckets import (
    DELAY_EDGES,
    LENGTH_EDGES,
    MEMBER_EDGES,
    Bucket,
    buckets_from_index,
    integer_edges,
)
from synthgen.spec import load_spec


def binned(values: np.ndarray, edges: tuple[float, ...]) -> fit.Binned:
    """Bucket values the way the server's width_bucket does."""
    index = np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="right")
    return fit.Binned.of(buckets_from_index(edges, np.bincount(index, minlength=len(edges) + 1)))


RNG = np.random.default_rng(11)


def test_discrete_power_law_alpha() -> None:
    data = binned(dist.discrete_power_law(RNG, 20_000, 1.6, 1, 9999), integer_edges(10**5))
    result = fit.fit_discrete_power_law(data, 1, 9999)
    assert result.params[0] == pytest.approx(1.6, abs=0.02)
    assert result.ks < 0.02 and result.n == 20_000 and result.usable(1)


def test_truncated_geometric_p() -> None:
    data = binned(dist.truncated_geometric(RNG, 5000, 0.35, 3, 20), MEMBER_EDGES)
    assert fit.fit_truncated_geometric(data, 3, 20).params[0] == pytest.approx(0.35, abs=0.02)


def test_rounded_capped_lognormal_mu_sigma() -> None:
    values = dist.capped_lognormal_int(RNG, 100_000, 3.8, 0.9, 1, 2000)
    result = fit.fit_lognormal_int(binned(values, LENGTH_EDGES), 1, 2000)
    assert result.params == pytest.approx((3.8, 0.9), abs=0.02)
    assert result.ks < 0.01


def test_lognormal_cap_mass_is_honoured() -> None:
    # a cap at 100 piles the upper tail on one value: the fit must not read that as a short tail
    values = dist.capped_lognormal_int(RNG, 50_000, 4.5, 1.0, 1, 100)
    result = fit.fit_lognormal_int(binned(values, LENGTH_EDGES), 1, 100)
    assert result.params == pytest.approx((4.5, 1.0), abs=0.05)


def test_truncated_exponential_and_lognormal_delays() -> None:
    near = 30 - 870 * np.log1p(-RNG.random(30_000) * (1 - np.exp(-3570 / 870)))
    assert fit.fit_truncated_exponential(binned(near, DELAY_EDGES), 30, 3600).params[0] == (
        pytest.approx(870, rel=0.05)
    )
    delayed = RNG.lognormal(10.0, 0.8, 60_000)
    delayed = delayed[(delayed >= 3600) & (delayed < 259200)]
    result = fit.fit_truncated_lognormal(binned(delayed, DELAY_EDGES), 3600, 259200)
    assert result.params == pytest.approx((10.0, 0.8), abs=0.03)


def test_heavy_room_alpha_by_simulated_likelihood() -> None:
    # the engine's heavy rooms: minimum + extra * w / sum(w), w ~ Pareto(alpha - 1)
    rooms, minimum, alpha = 400, 3000, 2.5
    w = RNG.pareto(alpha - 1, rooms) + 1
    sizes = minimum + 3000 * rooms * w / w.sum()
    data = binned(sizes, integer_edges(10**8))
    result = fit.fit_heavy_alpha(data, rooms, minimum, float(sizes.mean()))
    assert result.params[0] == pytest.approx(alpha, abs=0.3)


def test_one_bucket_cannot_pin_a_parameter() -> None:
    data = fit.Binned.of([Bucket(10.0, 20.0, 50.0)])
    assert not fit.fit_discrete_power_law(data, 10, 100).usable(1)


def test_burst_cv_is_solved_through_the_engine() -> None:
    spec = load_spec()
    time = spec.time
    counts, start = busy_rooms(spec, [Bucket(100.0, 1000.0, 30.0)], 100, 10_000)
    assert len(counts) >= 30 and counts.min() >= 100 and counts.max() < 1000
    target = median_gap_cv(time, 3.0, counts, start)
    assert spec_cv_for(time, target, counts, start) == pytest.approx(3.0, abs=0.05)
    assert spec_cv_for(time, 0.5, counts, start) == 1.0  # below what the engine can make
