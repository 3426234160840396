"""Maximum-likelihood fits on binned data, in the generator's own parametrisation.

Each model gives the probability mass of a bucket [lo, hi); the fit maximises the multinomial
log-likelihood sum(n_i * log p_i) over the buckets that meet the model's support (conditioned on
the support). Goodness of fit is the Kolmogorov-Smirnov distance between the observed and the
fitted cumulative distributions at the bucket edges. Work is per bucket (tens of them), never per
row. One-parameter fits use golden-section search; two-parameter fits use Nelder-Mead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from synthgen.sample.buckets import Bucket

Masses = Callable[[tuple[float, ...]], NDArray[np.float64]]
_ERF = np.frompyfunc(math.erf, 1, 1)  # applied to bucket edges only (tens of values)
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


@dataclass(frozen=True)
class Binned:
    """Observed buckets: lower and upper bounds (upper may be inf) and counts."""

    lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    n: NDArray[np.float64]

    @classmethod
    def of(cls, buckets: list[Bucket]) -> Binned:
        """From published buckets."""
        return cls(
            np.asarray([b.lo for b in buckets], dtype=np.float64),
            np.asarray([b.upper for b in buckets], dtype=np.float64),
            np.asarray([b.count for b in buckets], dtype=np.float64),
        )

    def within(self, low: float, high: float) -> Binned:
        """The buckets that meet [low, high) (a bucket straddling an end is kept)."""
        keep = (self.hi > low) & (self.lo < high)
        return Binned(self.lo[keep], self.hi[keep], self.n[keep])

    @property
    def total(self) -> float:
        return float(self.n.sum())


@dataclass(frozen=True)
class Fit:
    """Fitted parameters, the KS distance of the fit, and how many observations it used."""

    params: tuple[float, ...]
    ks: float
    n: float
    buckets: int = 0

    def usable(self, parameters: int) -> bool:
        """Whether the data could pin the parameters down: more buckets than parameters."""
        return self.n > 0 and self.buckets > parameters


def normal_cdf(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """Standard normal CDF (erf on a handful of bucket edges)."""
    values = np.asarray(_ERF(np.asarray(z, dtype=np.float64) / math.sqrt(2.0)), dtype=np.float64)
    return 0.5 * (1.0 + values)


def ks_distance(n: NDArray[np.float64], masses: NDArray[np.float64]) -> float:
    """Largest gap between the observed and the model's cumulative shares over the buckets."""
    if n.sum() <= 0 or masses.sum() <= 0:
        return 1.0
    observed = np.cumsum(n) / n.sum()
    model = np.cumsum(masses) / masses.sum()
    return float(np.max(np.abs(observed - model)))


def log_likelihood(n: NDArray[np.float64], masses: NDArray[np.float64]) -> float:
    """Multinomial log-likelihood of the counts under the (renormalised) masses."""
    total = masses.sum()
    if not total > 0 or not np.isfinite(total):
        return -math.inf
    p = np.maximum(masses / total, 1e-300)
    return float(np.sum(n * np.log(p)))


def golden_section(f: Callable[[float], float], lo: float, hi: float, iters: int = 80) -> float:
    """The argmin of a unimodal function on [lo, hi]."""
    a, b = lo, hi
    c, d = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - GOLDEN * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + GOLDEN * (b - a)
            fd = f(d)
    return (a + b) / 2.0


def nelder_mead(
    f: Callable[[NDArray[np.float64]], float], x0: tuple[float, float], step: tuple[float, float]
) -> NDArray[np.float64]:
    """A small Nelder-Mead minimiser for the two-parameter fits."""
    simplex = [np.asarray(x0, dtype=np.float64)]
    for i in range(2):
        point = np.asarray(x0, dtype=np.float64).copy()
        point[i] += step[i]
        simplex.append(point)
    values = [f(p) for p in simplex]
    for _ in range(400):
        order = np.argsort(values)
        simplex = [simplex[i] for i in order]
        values = [values[i] for i in order]
        if abs(values[-1] - values[0]) < 1e-10 and np.ptp(np.asarray(simplex), axis=0).max() < 1e-7:
            break
        centroid = (simplex[0] + simplex[1]) / 2.0
        reflected = centroid + (centroid - simplex[-1])
        fr = f(reflected)
        if fr < values[0]:
            expanded = centroid + 2.0 * (centroid - simplex[-1])
            fe = f(expanded)
            simplex[-1], values[-1] = (expanded, fe) if fe < fr else (reflected, fr)
        elif fr < values[1]:
            simplex[-1], values[-1] = reflected, fr
        else:
            contracted = centroid + 0.5 * (simplex[-1] - centroid)
            fc = f(contracted)
            if fc < values[-1]:
                simplex[-1], values[-1] = contracted, fc
            else:
                simplex = [simplex[0] + 0.5 * (p - simplex[0]) for p in simplex]
                values = [f(p) for p in simplex]
    return simplex[int(np.argmin(values))]


# --- bucket masses of each model ---------------------------------------------------------------


def discrete_masses(data: Binned, pmf: NDArray[np.float64], low: int) -> NDArray[np.float64]:
    """Masses of integer buckets under a pmf on low .. low + len(pmf) - 1."""
    cum = np.concatenate([[0.0], np.cumsum(pmf)])
    high = low + len(pmf) - 1
    first = np.clip(np.ceil(data.lo), low, high + 1).astype(np.int64)
    last = np.clip(np.where(np.isinf(data.hi), high, np.ceil(data.hi) - 1), low - 1, high)
    last = last.astype(np.int64)
    return np.where(last >= first, cum[last - low + 1] - cum[first - low], 0.0)


def _capped_rounded_lognormal_cdf(
    k: NDArray[np.float64], mu: float, sigma: float, low: int, high: float
) -> NDArray[np.float64]:
    """P(V <= k) for V = clip(round(X), low, high), X log-normal, k integer."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(np.maximum(k + 0.5, 1e-300)) - mu) / sigma
    cdf = normal_cdf(z)
    return np.where(k < low, 0.0, np.where(k >= high, 1.0, cdf))


def lognormal_int_masses(
    data: Binned, mu: float, sigma: float, low: int, high: float
) -> NDArray[np.float64]:
    """Masses of integer buckets for a rounded log-normal clipped to [low, high]."""
    upper = np.where(np.isinf(data.hi), math.inf, np.ceil(data.hi) - 1)
    top = np.where(np.isinf(upper), 1.0, _capped_rounded_lognormal_cdf(upper, mu, sigma, low, high))
    bottom = _capped_rounded_lognormal_cdf(np.ceil(data.lo) - 1, mu, sigma, low, high)
    return np.maximum(top - bottom, 0.0)


def continuous_masses(
    data: Binned, cdf: Callable[[NDArray[np.float64]], NDArray[np.float64]], low: float, high: float
) -> NDArray[np.float64]:
    """Masses of real-valued buckets under a CDF supported on [low, high)."""
    a = np.clip(data.lo, low, high)
    b = np.clip(data.hi, low, high)
    return np.maximum(cdf(b) - cdf(a), 0.0)


# --- fits --------------------------------------------------------------------------------------


def _fit1(
    data: Binned, masses: Callable[[float], NDArray[np.float64]], lo: float, hi: float
) -> Fit:
    best = golden_section(lambda x: -log_likelihood(data.n, masses(x)), lo, hi)
    return Fit((best,), ks_distance(data.n, masses(best)), data.total, len(data.n))


def fit_discrete_power_law(data: Binned, low: int, high: int) -> Fit:
    """alpha of P(k) ~ k**-alpha on [low, high]."""
    sub = data.within(low, high + 1)
    support = np.arange(low, high + 1, dtype=np.float64)
    return _fit1(sub, lambda a: discrete_masses(sub, support**-a, low), 1.01, 6.0)


def fit_truncated_geometric(data: Binned, low: int, high: int) -> Fit:
    """p of P(k) ~ (1 - p)**(k - low) on [low, high]."""
    sub = data.within(low, high + 1)
    steps = np.arange(0, high - low + 1, dtype=np.float64)
    return _fit1(sub, lambda p: discrete_masses(sub, (1.0 - p) ** steps, low), 1e-4, 0.9999)


def fit_truncated_exponential(data: Binned, low: float, high: float) -> Fit:
    """scale s of an exponential truncated to [low, high) (its mean above `low` is about s)."""
    sub = data.within(low, high)

    def masses(log_scale: float) -> NDArray[np.float64]:
        s = math.exp(log_scale)

        def cdf(x: NDArray[np.float64]) -> NDArray[np.float64]:
            return -np.expm1(-(x - low) / s) / -math.expm1(-(high - low) / s)

        return continuous_masses(sub, cdf, low, high)

    fit = _fit1(sub, masses, math.log(1e-3 * (high - low) + 1e-9), math.log(100.0 * (high - low)))
    return Fit((math.exp(fit.params[0]),), fit.ks, fit.n, fit.buckets)


def _fit2(data: Binned, masses: Callable[[float, float], NDArray[np.float64]], mu0: float) -> Fit:
    def objective(x: NDArray[np.float64]) -> float:
        if x[1] <= 0.01:
            return math.inf
        return -log_likelihood(data.n, masses(float(x[0]), float(x[1])))

    best = nelder_mead(objective, (mu0, 1.0), (0.5, 0.3))
    mu, sigma = float(best[0]), float(best[1])
    return Fit((mu, sigma), ks_distance(data.n, masses(mu, sigma)), data.total, len(data.n))


def _log_mid(data: Binned) -> float:
    hi = np.where(np.isinf(data.hi), data.lo * 2.0, data.hi)
    mid = np.sqrt(np.maximum(data.lo, 0.5) * np.maximum(hi, 1.0))
    return float(np.sum(data.n * np.log(mid)) / max(data.total, 1.0))


def fit_lognormal_int(data: Binned, low: int, high: float) -> Fit:
    """mu, sigma of a log-normal rounded to integers and clipped to [low, high] (a cap)."""
    sub = data.within(low, high + 1)
    return _fit2(sub, lambda mu, s: lognormal_int_masses(sub, mu, s, low, high), _log_mid(sub))


def fit_truncated_lognormal(data: Binned, low: float, high: float) -> Fit:
    """mu, sigma of a log-normal truncated to [low, high) (redrawn outside, as the engine does)."""
    sub = data.within(low, high)

    def masses(mu: float, sigma: float) -> NDArray[np.float64]:
        def cdf(x: NDArray[np.float64]) -> NDArray[np.float64]:
            return normal_cdf((np.log(np.maximum(x, 1e-300)) - mu) / sigma)

        return continuous_masses(sub, cdf, low, high)

    return _fit2(sub, masses, _log_mid(sub))


def fit_heavy_alpha(
    data: Binned, rooms: int, minimum: int, mean_size: float, replicates: int = 400
) -> Fit:
    """alpha of the engine's heavy-room sizes: minimum + extra * w / sum(w), w ~ Pareto(alpha - 1).

    The sizes' bucket probabilities have no closed form, so they are simulated with the engine's
    own formula (common random numbers across alphas, so the likelihood is smooth) and alpha is
    chosen by maximum likelihood on a grid, refined by golden-section search.
    """
    sub = data.within(minimum, math.inf)
    if rooms < 2 or sub.total <= 0 or mean_size <= minimum:
        return Fit((math.nan,), 1.0, 0.0, 0)
    u = np.random.default_rng(0).random((replicates, rooms))
    edges = np.minimum(np.concatenate([sub.lo, sub.hi[-1:]]), 1e18)
    extra = rooms * (mean_size - minimum)

    def masses(alpha: float) -> NDArray[np.float64]:
        w = (1.0 - u) ** (-1.0 / (alpha - 1.0))
        sizes = minimum + extra * w / w.sum(axis=1, keepdims=True)
        counts = np.histogram(sizes, bins=edges)[0].astype(np.float64)
        return (counts + 0.5) / (
            counts.sum() + 0.5 * len(counts)
        )  # no empty bucket: log stays finite

    grid = np.arange(1.1, 5.01, 0.1)
    start = float(grid[int(np.argmax([log_likelihood(sub.n, masses(a)) for a in grid]))])
    best = golden_section(
        lambda a: -log_likelihood(sub.n, masses(a)), max(1.05, start - 0.1), start + 0.1, 30
    )
    return Fit((best,), ks_distance(sub.n, masses(best)), sub.total, len(sub.n))
