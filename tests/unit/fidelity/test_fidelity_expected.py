"""The gate's model computations, checked against known values and against the engine's
realised output (large fixed-seed samples drawn with the engine's own samplers, the engine's
plan and time model): two implementations written apart must agree, and neither is compared with
itself."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from synthgen.engine import distributions as dist
from synthgen.engine.receipts import receipt_delays_us
from synthgen.engine.skeleton import counts_for
from synthgen.engine.timemodel import hourly_profile, median_gap_cv
from synthgen.fidelity import expected as ex
from synthgen.fidelity import expected_time as ext
from synthgen.fidelity.expected_bursts import expected_median_cv
from synthgen.spec import load_spec

SPEC = load_spec()


@pytest.mark.parametrize(
    ("band", "scale", "known"),
    [
        # (users, conversations, messages, direct, small, large, heavy, heavy threshold)
        ("dev", 1.0, (5000, 8000, 5_000_000, 5600, 2000, 400, 160, 10_000)),
        ("dev", 0.01, (50, 80, 50_000, 56, 20, 4, 2, 100)),
        # 110 conversations: quotas 77 / 27.5 / 5.5, the one unit left goes to the first tie
        ("dev", 0.0137, (68, 110, 68_500, 77, 28, 5, 2, 137)),
        ("dev", 0.001, (5, 8, 5000, 6, 2, 0, 1, 10)),
        ("staging", 0.5, (75_000, 150_000, 50_000_000, 105_000, 37_500, 7500, 3000, 5000)),
        # the heavy threshold never grows with the scale
        ("perf", 2.0, (500_000, 1_200_000, 600_000_000, 840_000, 300_000, 60_000, 24_000, 10_000)),
    ],
)
def test_band_counts_known_values(band: str, scale: float, known: tuple[int, ...]) -> None:
    got = ex.band_counts(SPEC, band, scale)
    assert dataclasses.astuple(got) == known
    # the engine's plan (written apart) realises the same counts
    assert dataclasses.astuple(counts_for(SPEC, band, scale)) == known


def test_largest_remainder_known_values() -> None:
    assert ex.largest_remainder(80, [0.7, 0.25, 0.05]) == [56, 20, 4]
    assert ex.largest_remainder(7, [1 / 3] * 3) == [3, 2, 2]  # ties: the first class listed
    assert ex.largest_remainder(10, [0.0, 1.0, 0.0]) == [0, 10, 0]
    # quotas 1.5 / 0.9 / 0.6: floors 1, 0, 0; the two units left go to remainders .9 and .6
    assert ex.largest_remainder(3, [0.5, 0.3, 0.2]) == [1, 1, 1]


def test_largest_remainder_agrees_with_the_engines_split() -> None:
    rng = np.random.default_rng(5)
    for _ in range(500):
        shares = list(rng.dirichlet([1.0, 1.0, 1.0]))
        total = int(rng.integers(1, 100_000))
        mine = ex.largest_remainder(total, shares)
        assert sum(mine) == total
        assert mine == dist.class_counts(total, shares)


def test_diurnal_profile_known_values() -> None:
    profile = ext.diurnal_profile(SPEC.time.diurnal)
    # trough 00-06 at 1, peaks 09-12 and 18-21 at 2.5, every other hour halfway (1.75)
    want = [1.0] * 6 + [1.75] * 3 + [2.5] * 3 + [1.75] * 6 + [2.5] * 3 + [1.75] * 3
    assert profile.tolist() == want
    explicit = dataclasses.replace(SPEC.time.diurnal, hourly_profile=tuple(range(1, 25)))
    assert ext.diurnal_profile(explicit).tolist() == [float(h) for h in range(1, 25)]
    # the engine's time model realises the same day
    assert hourly_profile(SPEC.time.diurnal).tolist() == want


@pytest.mark.parametrize("cv", [1.0, 2.5, 4.0])
def test_burst_model_agrees_with_the_engines_realised_cv(cv: float) -> None:
    """The gate's own simulation of the spec's burst model and the engine's bursty streams give
    the same median CV (each within its Monte Carlo noise), and neither is the spec's figure
    exactly: busy rooms under the default day measure a little above it."""
    rng = np.random.default_rng(1)
    t = dataclasses.replace(
        SPEC.time, burst=dataclasses.replace(SPEC.time.burst, inter_arrival_cv=cv)
    )
    counts = rng.integers(100, 5000, 150)
    fraction = rng.random(150) * 0.9
    window = t.window_days * ext.US_PER_DAY
    open_us = (t.snapshot_us - window + fraction * window).astype(np.int64)
    gate = expected_median_cv(t, counts, open_us)
    engine = median_gap_cv(t, cv, counts, fraction)
    assert gate == pytest.approx(engine, rel=0.04)
    assert gate == pytest.approx(cv, rel=0.15)


def test_burst_model_without_bursts_is_near_poisson() -> None:
    """cv 1 makes every message open its own burst (q = 1): gaps of a Poisson stream over the
    intensity, whose CV is about 1 (a little above: the day's rate varies)."""
    t = dataclasses.replace(
        SPEC.time, burst=dataclasses.replace(SPEC.time.burst, inter_arrival_cv=1.0)
    )
    counts = np.full(100, 2000, dtype=np.int64)
    open_us = np.full(100, t.snapshot_us - t.window_days * ext.US_PER_DAY, dtype=np.int64)
    assert 1.0 <= expected_median_cv(t, counts, open_us) < 1.25


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
    model = ex.capped_lognormal_int(
        c.length_lognormal.mu, c.length_lognormal.sigma, c.min_length, c.max_length
    )
    sample = dist.capped_lognormal_int(
        np.random.default_rng(5),
        1_000_000,
        c.length_lognormal.mu,
        c.length_lognormal.sigma,
        c.min_length,
        c.max_length,
    )
    assert model.p.sum() == pytest.approx(1.0)
    assert sample.mean() == pytest.approx(model.mean, rel=0.005)
    assert np.median(sample) == model.quantile(0.5)
    assert (sample == c.max_length).mean() == pytest.approx(model.p[-1], abs=0.001)


def test_delay_cdfs_match_the_engine_sampler() -> None:
    r = SPEC.read_receipts
    delay_us, band = receipt_delays_us(np.random.default_rng(9), SPEC, 400_000)
    seconds = delay_us / 1e6
    probes = {0: [5, 15, 29], 1: [60, 600, 3000], 2: [7200, 36000, 200000], 3: [3e5, 1e6, 2.5e6]}
    for b, points in probes.items():
        mine = ext.delay_component_cdfs(r, np.array(points, dtype=float))[b]
        empirical = [(seconds[band == b] <= p).mean() for p in points]
        assert mine == pytest.approx(empirical, abs=0.006), b


def test_receipt_expectation_without_truncation() -> None:
    r = SPEC.read_receipts
    total, per_band = ext.receipt_expectation(r, np.array([1.0]), np.array([0.0]), 1000)
    assert total == pytest.approx(r.read_rate * 1000)
    assert per_band / total == pytest.approx([b.share for b in r.delay_mixture.components])
    # a message one second old can only have an immediate receipt, if any
    total, per_band = ext.receipt_expectation(r, np.array([1.0]), np.array([1.0]), 0)
    assert per_band[1:] == pytest.approx([0, 0, 0])
    assert 0 < total < r.read_rate * r.delay_mixture.components[0].share


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
