"""The gate's model computations, cross-checked against large fixed-seed samples drawn with the
engine's own samplers (an independent implementation must agree with them)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synthgen.engine import distributions as dist
from synthgen.engine.messages import receipt_delays_us
from synthgen.engine.skeleton import counts_for
from synthgen.fidelity import expected as ex
from synthgen.fidelity import expected_time as ext
from synthgen.spec import load_spec

SPEC = load_spec()


@pytest.mark.parametrize(
    ("band", "scale"),
    [("dev", 1.0), ("dev", 0.01), ("dev", 0.0137), ("staging", 0.5), ("perf", 2.0)],
)
def test_band_counts_agree_with_the_plan(band: str, scale: float) -> None:
    mine, theirs = ex.band_counts(SPEC, band, scale), counts_for(SPEC, band, scale)
    assert mine.__dict__ == theirs.__dict__


def test_largest_remainder_is_exact() -> None:
    assert ex.largest_remainder(80, [0.7, 0.25, 0.05]) == [56, 20, 4]
    assert sum(ex.largest_remainder(7, [1 / 3] * 3)) == 7


def test_power_law_and_geometric_match_the_engine_samplers() -> None:
    rng = np.random.default_rng(7)
    pl = ex.power_law(1.8, 6, 9999)
    sample = dist.discrete_power_law(rng, 400_000, 1.8, 6, 9999)
    assert pl.p.sum() == pytest.approx(1.0)
    assert np.median(sample) == pl.quantile(0.5)
    assert np.quantile(sample, 0.95) == pytest.approx(pl.quantile(0.95), rel=0.03)
    geo = ex.truncated_geometric(0.25, 3, 20)
    sample = dist.truncated_geometric(rng, 400_000, 0.25, 3, 20)
    assert sample.mean() == pytest.approx(geo.mean, rel=0.005)


def test_fits_recover_their_parameters() -> None:
    rng = np.random.default_rng(11)
    draws = dist.discrete_power_law(rng, 200_000, 2.5, 21, 256)
    alpha = ex.fit_power_law_alpha(len(draws), float(np.log(draws).sum()), 21, 256)
    assert alpha == pytest.approx(2.5, abs=0.02)
    draws = dist.truncated_geometric(rng, 200_000, 0.25, 3, 20)
    assert ex.fit_geometric_p(len(draws), float(draws.mean()), 3, 20) == pytest.approx(
        0.25, abs=0.005
    )


def test_alpha_standard_error_matches_replicates() -> None:
    rng = np.random.default_rng(3)
    n = 300
    fits = [
        ex.fit_power_law_alpha(n, float(np.log(d).sum()), 6, 9999)
        for d in (dist.discrete_power_law(rng, n, 1.8, 6, 9999) for _ in range(150))
    ]
    assert float(np.std(fits)) == pytest.approx(ex.power_law_alpha_se(1.8, 6, 9999, n), rel=0.25)


def test_normal_cdf_against_math_erf() -> None:
    x = np.linspace(-8, 8, 1601)
    exact = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    assert np.max(np.abs(ex.normal_cdf(x) - exact)) < 2e-7


def test_capped_lognormal_matches_the_engine() -> None:
    c = SPEC.content
    model = ex.capped_lognormal_int(c.length.mu, c.length.sigma, c.min_length, c.max_length)
    sample = dist.capped_lognormal_int(
        np.random.default_rng(5), 1_000_000, c.length.mu, c.length.sigma, c.min_length, c.max_length
    )
    assert model.p.sum() == pytest.approx(1.0)
    assert sample.mean() == pytest.approx(model.mean, rel=0.005)
    assert np.median(sample) == model.quantile(0.5)
    assert (sample == c.max_length).mean() == pytest.approx(model.p[-1], abs=0.001)


def test_delay_cdfs_match_the_engine_sampler() -> None:
    r = SPEC.receipts
    delay_us, band = receipt_delays_us(np.random.default_rng(9), SPEC, 400_000)
    seconds = delay_us / 1e6
    probes = {0: [5, 15, 29], 1: [60, 600, 3000], 2: [7200, 36000, 200000], 3: [3e5, 1e6, 2.5e6]}
    for b, points in probes.items():
        mine = ext.delay_band_cdfs(r, np.array(points, dtype=float))[b]
        empirical = [(seconds[band == b] <= p).mean() for p in points]
        assert mine == pytest.approx(empirical, abs=0.006), b


def test_receipt_expectation_without_truncation() -> None:
    r = SPEC.receipts
    total, per_band = ext.receipt_expectation(r, np.array([1.0]), np.array([0.0]), 1000)
    assert total == pytest.approx(r.read_rate * 1000)
    assert per_band / total == pytest.approx([b.share for b in r.bands])
    # a message one second old can only have an immediate receipt, if any
    total, per_band = ext.receipt_expectation(r, np.array([1.0]), np.array([1.0]), 0)
    assert per_band[1:] == pytest.approx([0, 0, 0])
    assert 0 < total < r.read_rate * r.bands[0].share


def test_window_exposure_and_profile() -> None:
    w = ext.window_exposure(SPEC.time)
    assert len(w.hour_of_day) == 90 * 24
    # the window ends at Thursday 2026-01-01 00:00 UTC: 90 days hold 12 full weeks + 6 days
    assert int(w.weekend.sum()) == 26 * 24
    profile = ext.diurnal_profile(SPEC.time.diurnal)
    peak, trough = ext.hour_sets(SPEC.time.diurnal)
    assert profile[peak].mean() / profile[trough].mean() == pytest.approx(2.5)
    assert ext.burst_inflation(1.0) == pytest.approx(1.0)
    q = 2 / (2.5**2 + 1)
    assert ext.burst_inflation(2.5) == pytest.approx((2 - q) / q)


def test_sum_bounds_match_a_simulation() -> None:
    pmf = ex.power_law(1.8, 6, 9999)
    n, z = 60, 2.0
    sums = dist.discrete_power_law(np.random.default_rng(1), n * 100_000, 1.8, 6, 9999)
    sums = sums.reshape(-1, n).sum(axis=1)
    tail = float(ex.normal_cdf(-z))
    low, high = np.quantile(sums, [tail, 1 - tail])
    got_low, got_high = ex.sum_bounds(pmf, n, z)
    assert got_low == pytest.approx(low, rel=0.03)
    assert got_high == pytest.approx(high, rel=0.03)
    # many draws: the normal approximation
    big = ex.sum_bounds(pmf, 100_000, z)
    assert big[0] == pytest.approx(100_000 * pmf.mean - z * math.sqrt(1e5 * pmf.variance))


def test_quantile_noise_is_asymmetric_for_heavy_tails() -> None:
    pmf = ex.power_law(1.8, 6, 9999)
    low, high = pmf.quantile_noise(0.99, 7840, 4.0)
    assert 0 < low < high
    assert pmf.quantile_noise(0.5, 0, 4.0) == (math.inf, math.inf)
