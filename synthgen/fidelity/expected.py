"""The spec's model, evaluated: band counts, pmfs, fits, quantiles, sampling noise.

Independence rule: everything here is computed from the spec's figures with the gate's own code
and imports nothing from the generator (`synthgen.engine`, `plan`, `build`, ...; the layering
contract in pyproject.toml, checked by `make lint`, enforces it). Where the realised value is
not the spec's figure itself it is derived here from the spec's definition: the band's class
counts are the spec's shares split by largest remainder (exact integers summing to the total),
the heavy rooms max(1, round(conversations x heavy_fraction)). An engine that rounds or splits
differently is then caught, not repeated. Pure NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from synthgen.spec import Spec

F64 = NDArray[np.float64]
IQR_Z = 0.6744897501960817  # standard normal 75th percentile


@dataclass(frozen=True)
class BandCounts:
    """Row counts the spec implies for a band and scale, and the scaled heavy-room threshold."""

    users: int
    conversations: int
    messages: int
    direct: int
    small: int
    large: int
    heavy: int
    heavy_min_messages: int


def largest_remainder(total: int, shares: list[float]) -> list[int]:
    """Split `total` by shares into integers summing to it exactly: each class gets the floor of
    its quota total x share / sum(shares), and the units left over go to the largest fractional
    remainders (ties to the class listed first)."""
    weight = sum(shares)
    quotas = [total * s / weight for s in shares]
    out = [math.floor(q) for q in quotas]
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(quotas[i] - out[i]), i))
    for i in by_remainder[: total - sum(out)]:
        out[i] += 1
    return out


def band_counts(spec: Spec, band: str, scale: float) -> BandCounts:
    """What a band at `scale` holds, by the spec's rules: band totals x scale rounded (at least
    one), the conversation mix split exactly by largest remainder, heavy rooms
    max(1, round(conversations x heavy_fraction)) when the fraction is positive, and the heavy
    threshold scaled down (never up: scaled up, heavy rooms alone would exceed the band)."""
    b, c, m = spec.band(band), spec.conversations, spec.messages_per_conversation
    conversations = max(1, round(b.conversations * scale))
    direct, small, large = largest_remainder(
        conversations, [c.mix.direct, c.mix.small_group, c.mix.large_group]
    )
    heavy = round(conversations * m.heavy.fraction)
    if m.heavy.fraction > 0:
        heavy = max(1, heavy)
    return BandCounts(
        users=max(1, round(b.users * scale)),
        conversations=conversations,
        messages=max(1, round(b.messages * scale)),
        direct=direct,
        small=small,
        large=large,
        heavy=heavy,
        heavy_min_messages=max(1, round(m.heavy.min_messages * min(scale, 1.0))),
    )


# --- discrete distributions ---------------------------------------------------------------


@dataclass(frozen=True)
class Pmf:
    """A discrete distribution: values `support` (increasing) with probabilities `p`."""

    support: F64
    p: F64

    @property
    def mean(self) -> float:
        """Expected value."""
        return float(self.support @ self.p)

    @property
    def variance(self) -> float:
        """Variance."""
        return float(((self.support - self.mean) ** 2) @ self.p)

    @property
    def skewness(self) -> float:
        """Third standardized moment."""
        var = self.variance
        return float(((self.support - self.mean) ** 3) @ self.p) / var**1.5 if var > 0 else 0.0

    def quantile(self, q: float) -> float:
        """Smallest value whose CDF reaches q (the rule `histogram_quantile` uses)."""
        cdf = np.cumsum(self.p)
        return float(self.support[min(int(np.searchsorted(cdf, q - 1e-12)), len(cdf) - 1)])

    def quantile_noise(self, q: float, n: int, z: float) -> tuple[float, float]:
        """Relative distances from the q-quantile to where the sample q-quantile of n draws lies
        at the tail probabilities of a z-sigma band.

        Exact order statistics: the sample quantile is <= x exactly when at least ceil(q n)
        draws are <= x, a binomial event with probability F(x).
        """
        if n <= 0:
            return (math.inf, math.inf)
        tail = float(normal_cdf(-z))
        rank = max(1, math.ceil(q * n - 1e-9))
        cdf = np.minimum(np.cumsum(self.p), 1.0)
        exact = min(rank, n - rank) < EXACT_BINOMIAL_BELOW
        if exact:
            log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
            counts = np.arange(rank, n + 1)

        def at_most(i: int) -> float:  # P(sample quantile <= support[i])
            f = float(cdf[i])
            if f >= 1.0:
                return 1.0
            if f <= 0.0:
                return 0.0
            if not exact:  # binomial with many events on both sides: normal, continuity-corrected
                spread = math.sqrt(n * f * (1 - f))
                return float(1.0 - normal_cdf((rank - 0.5 - n * f) / spread))
            log_pmf = (
                log_fact[n]
                - log_fact[counts]
                - log_fact[n - counts]
                + counts * math.log(f)
                + (n - counts) * math.log1p(-f)
            )
            return float(np.exp(log_pmf).sum())

        def first_reaching(level: float) -> float:
            lo, hi = 0, len(cdf) - 1
            while lo < hi:
                mid = (lo + hi) // 2
                if at_most(mid) >= level:
                    hi = mid
                else:
                    lo = mid + 1
            return float(self.support[lo])

        centre = self.quantile(q)
        low, high = first_reaching(tail), first_reaching(1.0 - tail)
        return ((centre - low) / centre, (high - centre) / centre)

    def binned(self, edges: F64) -> F64:
        """Probability mass in each [edges[i], edges[i+1]) bin."""
        cdf = np.concatenate([[0.0], np.cumsum(self.p)])
        idx = np.searchsorted(self.support, edges, side="left")
        return np.asarray(np.diff(cdf[idx]), dtype=np.float64)


FFT_POINTS = 1 << 18
EXACT_BINOMIAL_BELOW = 2000
NORMAL_SKEW = 0.1


def sum_bounds(pmf: Pmf, n: int, z: float) -> tuple[float, float]:
    """Where the sum of n independent draws lies, at the tail probabilities of a z-sigma band.

    Small samples of skewed distributions (a few rooms near the maximum) are far from normal,
    so their real tails are computed: the n-fold convolution by FFT, with values put on a grid
    (each value's mass split between its two grid points: the mean is kept, the spread grows by
    at most half a step per draw) sized so the sum's support fits FFT_POINTS. Once the sum's
    skewness is below NORMAL_SKEW the normal approximation is used.
    """
    if n <= 0:
        return (0.0, 0.0)
    mean, var = pmf.mean, pmf.variance
    if abs(pmf.skewness) / math.sqrt(n) < NORMAL_SKEW or var == 0:
        spread = z * math.sqrt(n * var)
        return (n * mean - spread, n * mean + spread)
    tail = float(normal_cdf(-z))
    offset = float(pmf.support[0])
    step = n * float(pmf.support[-1] - offset) / FFT_POINTS
    position = (pmf.support - offset) / step
    below = np.floor(position).astype(np.int64)
    above_share = position - below
    grid = np.bincount(below, weights=pmf.p * (1 - above_share), minlength=below[-1] + 2)
    grid += np.bincount(below + 1, weights=pmf.p * above_share, minlength=below[-1] + 2)
    width = n * (len(grid) - 1) + 1
    size = 1 << (width - 1).bit_length()
    dist = np.clip(np.fft.irfft(np.fft.rfft(grid, size) ** n, size)[:width], 0.0, None)
    cdf = np.cumsum(dist) / dist.sum()
    first, last = np.searchsorted(cdf, [tail, 1.0 - tail])
    return (n * offset + float(first) * step, n * offset + float(last) * step)


def mean_noise(pmf: Pmf, n: int, z: float) -> tuple[float, float]:
    """Relative noise (low side, high side) of the mean of n draws."""
    if n <= 0:
        return (math.inf, math.inf)
    low, high = sum_bounds(pmf, n, z)
    centre = pmf.mean
    return ((centre - low / n) / abs(centre), (high / n - centre) / abs(centre))


def log_pmf(pmf: Pmf) -> Pmf:
    """The distribution of log(k) for k drawn from `pmf` (k > 0)."""
    return Pmf(np.log(pmf.support), pmf.p)


def power_law(alpha: float, low: int, high: int) -> Pmf:
    """P(k) proportional to k**-alpha on [low, high]."""
    k = np.arange(low, high + 1, dtype=np.float64)
    w = k**-alpha
    return Pmf(k, w / w.sum())


def truncated_geometric(p: float, low: int, high: int) -> Pmf:
    """P(k) proportional to (1-p)**(k-low) on [low, high]."""
    k = np.arange(low, high + 1, dtype=np.float64)
    w = (1.0 - p) ** (k - low)
    return Pmf(k, w / w.sum())


def _bisect(
    fn: Callable[[float], float], target: float, lo: float, hi: float, decreasing: bool
) -> float:
    """The x in [lo, hi] where the monotone fn(x) crosses target."""
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        above = fn(mid) > target
        if above == decreasing:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def fit_power_law_alpha(n: int, sum_log: float, low: int, high: int) -> float:
    """Maximum-likelihood alpha of a discrete power law truncated to [low, high].

    The likelihood is an exponential family in log k, so the MLE equates the model's mean of
    log k with the sample's (which falls as alpha grows); solved by bisection.
    """
    if low == high or n == 0:
        return math.nan
    k = np.arange(low, high + 1, dtype=np.float64)
    log_k = np.log(k)

    def mean_log(alpha: float) -> float:
        w = np.exp(-alpha * (log_k - log_k[0]))
        return float(log_k @ w / w.sum())

    return _bisect(mean_log, sum_log / n, -5.0, 20.0, decreasing=True)


def power_law_alpha_noise(
    alpha: float, low: int, high: int, n: int, z: float
) -> tuple[float, float]:
    """Relative noise (low side, high side) of the alpha MLE from n draws: the MLE is a
    decreasing function of the mean of log k, whose exact z-sigma bounds give alpha's."""
    if n <= 0 or low == high:
        return (math.inf, math.inf)
    log_lo, log_hi = sum_bounds(log_pmf(power_law(alpha, low, high)), n, z)
    alpha_low = fit_power_law_alpha(n, log_hi, low, high)
    alpha_high = fit_power_law_alpha(n, log_lo, low, high)
    return ((alpha - alpha_low) / alpha, (alpha_high - alpha) / alpha)


def power_law_alpha_se(alpha: float, low: int, high: int, n: float) -> float:
    """Asymptotic standard error of the alpha MLE: 1 / sqrt(n Var(log k)) (Fisher information)."""
    pmf = power_law(alpha, low, high)
    log_k = np.log(pmf.support)
    var = float((log_k**2) @ pmf.p - (log_k @ pmf.p) ** 2)
    return math.inf if n <= 0 or var <= 0 else 1.0 / math.sqrt(n * var)


def fit_geometric_p(n: int, mean: float, low: int, high: int) -> float:
    """Maximum-likelihood p of a geometric truncated to [low, high] (moment = MLE here)."""
    if low == high or n == 0:
        return math.nan
    return _bisect(
        lambda p: truncated_geometric(p, low, high).mean, mean, 1e-9, 1 - 1e-9, decreasing=True
    )


def geometric_p_noise(p: float, low: int, high: int, n: int, z: float) -> tuple[float, float]:
    """Relative noise (low side, high side) of the p MLE from n draws: p is a decreasing
    function of the sample mean, whose exact z-sigma bounds give p's."""
    if n <= 0 or low == high:
        return (math.inf, math.inf)
    total_lo, total_hi = sum_bounds(truncated_geometric(p, low, high), n, z)
    p_low = fit_geometric_p(n, total_hi / n, low, high)
    p_high = fit_geometric_p(n, total_lo / n, low, high)
    return ((p - p_low) / p, (p_high - p) / p)


# --- normal / log-normal ------------------------------------------------------------------


def normal_cdf(x: F64 | float) -> F64:
    """Standard normal CDF, vectorized (erfc by Chebyshev fit, |relative error| < 1.2e-7)."""
    z = np.asarray(x, dtype=np.float64) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.5 * np.abs(z))
    poly = (
        -z * z
        - 1.26551223
        + t
        * (
            1.00002368
            + t
            * (
                0.37409196
                + t
                * (
                    0.09678418
                    + t
                    * (
                        -0.18628806
                        + t
                        * (
                            0.27886807
                            + t
                            * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))
                        )
                    )
                )
            )
        )
    )
    erfc = t * np.exp(poly)
    return np.asarray(np.where(z >= 0, 1.0 - 0.5 * erfc, 0.5 * erfc), dtype=np.float64)


def capped_lognormal_int(mu: float, sigma: float, low: int, high: int) -> Pmf:
    """Distribution of clip(round(X), low, high) for X ~ LogNormal(mu, sigma)."""
    k = np.arange(low, high + 1, dtype=np.float64)
    upper = np.log(k + 0.5)
    with np.errstate(divide="ignore"):
        lower = np.log(np.maximum(k - 0.5, 0.0))
    cdf_hi = normal_cdf((upper - mu) / sigma)
    cdf_lo = np.where(np.isfinite(lower), normal_cdf((lower - mu) / sigma), 0.0)
    p = cdf_hi - cdf_lo
    p[0] = cdf_hi[0]
    p[-1] = 1.0 - cdf_lo[-1]
    return Pmf(k, np.asarray(p / p.sum(), dtype=np.float64))


def lognormal_fit_noise(sigma: float, n: float, z: float) -> tuple[float, float]:
    """z-sigma noise of the quantile fit: mu from the median (SE 1.2533 sigma / sqrt n) and
    sigma from the interquartile range (SE 1.1664 sigma / sqrt n), absolute on the log scale."""
    if n <= 0:
        return (math.inf, math.inf)
    return (z * 1.2533 * sigma / math.sqrt(n), z * 1.1664 * sigma / math.sqrt(n))
