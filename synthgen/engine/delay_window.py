"""The receipt-delay mixture restricted to a window: how likely a delay falls in [lo, hi), and
draws of it given that it does.

A log-spaced grid of cell edges carries the mixture's exact CDF (each component's closed form;
the delayed component's normal CDF by `math.erf`, once per edge). A window is widened outward to
the grid's edges, so its probability is a difference of two table entries, and a delay given
the widened window is drawn by inverse CDF: a uniform between the two entries picks the cell,
the component within the cell and the point within the component, through the component's
inverse CDF (by rejection from a log-uniform proposal for the log-normal, whose inverse has no
closed form). Callers keep a draw only if it lands in their exact window, so the widening
costs draws, never the law.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from synthgen.spec import DelayMixture

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
# cells of the grid: fine enough that a window widened to its edges is rarely much wider (each
# cell ~2.6 % of its left edge on the dev spec), coarse enough that the table costs nothing
GRID_CELLS = 640


@dataclass(frozen=True)
class DelayTable:
    """The mixture's CDF on a grid of delays (seconds), by component and in all."""

    edges: F64  # G + 1 increasing edges, the first at the shortest delay, the last at the longest
    comp_cdf: F64  # (components, G + 1): each component's CDF at the edges, times its share
    cdf: F64  # G + 1: the mixture's CDF at the edges (the sum over components)
    mixture: DelayMixture

    def cells(self, lo_s: F64, hi_s: F64) -> tuple[I64, I64]:
        """Edge indices g <= h with edges[g] <= lo_s and hi_s <= edges[h] (or the grid's ends)."""
        g = np.searchsorted(self.edges, lo_s, side="right") - 1
        h = np.searchsorted(self.edges, hi_s, side="left")
        last = len(self.edges) - 1
        g = np.clip(g, 0, last)
        return g, np.clip(np.maximum(h, g), 0, last)

    def mass(self, g: I64, h: I64) -> F64:
        """P(delay in [edges[g], edges[h]))."""
        return np.maximum(self.cdf[h] - self.cdf[g], 0.0)

    def draw(self, rng: np.random.Generator, g: I64, h: I64) -> F64:
        """One delay (seconds) per (g, h), from the mixture given [edges[g], edges[h])."""
        u = self.cdf[g] + rng.random(len(g)) * (self.cdf[h] - self.cdf[g])
        cell = np.clip(np.searchsorted(self.cdf, u, side="right") - 1, g, np.maximum(h - 1, g))
        cell = np.minimum(cell, len(self.edges) - 2)
        offset = u - self.cdf[cell]  # where u falls in the cell, split between the components
        out = np.empty(len(g), dtype=np.float64)
        below = np.zeros(len(g), dtype=np.float64)
        todo = np.ones(len(g), dtype=bool)
        k_last = len(self.comp_cdf) - 1
        for k in range(len(self.comp_cdf)):
            width = self.comp_cdf[k, cell + 1] - self.comp_cdf[k, cell]
            mine = todo & ((offset < below + width) | (k == k_last)) & (width > 0)
            rows = np.flatnonzero(mine)
            share = self.comp_cdf[k, -1]
            v = (self.comp_cdf[k, cell[rows]] + (offset[rows] - below[rows])) / share
            v = np.clip(
                v, self.comp_cdf[k, cell[rows]] / share, self.comp_cdf[k, cell[rows] + 1] / share
            )
            out[rows] = self._inverse(rng, k, v, cell[rows])
            todo &= ~mine
            below += width
        rows = np.flatnonzero(todo)  # float ties at a cell's top: the cell's left edge
        out[rows] = self.edges[cell[rows]]
        return np.clip(out, self.edges[cell], self.edges[cell + 1])

    def _inverse(self, rng: np.random.Generator, k: int, v: F64, cell: I64) -> F64:
        """Component k's delay at CDF value v (within `cell`)."""
        m = self.mixture
        if k == 0:
            c = m.immediate
            return c.min_seconds + v * (c.max_seconds - c.min_seconds)
        if k == 1:
            near = m.near_term
            scale = max(near.mean_seconds - near.min_seconds, 1.0)
            top = 1.0 - math.exp(-(near.max_seconds - near.min_seconds) / scale)
            return near.min_seconds - scale * np.log1p(-v * top)
        if k == 2:
            return _lognormal_in_cells(rng, m, self.edges, cell)
        lo, hi = math.log(m.stale.min_seconds), math.log(m.stale.max_seconds)
        return np.exp(lo + v * (hi - lo))


def _lognormal_in_cells(rng: np.random.Generator, m: DelayMixture, edges: F64, cell: I64) -> F64:
    """The delayed component (log-normal on [min, max)) given its cell: log-uniform proposals
    over the cell, kept with the log-normal density's ratio to its largest value in the cell."""
    d = m.delayed
    mu, sigma = d.lognormal.mu, d.lognormal.sigma
    lo = np.log(np.maximum(edges[cell], d.min_seconds))
    hi = np.log(np.minimum(edges[cell + 1], d.max_seconds))
    peak = np.clip(mu, lo, hi)
    out = np.empty(len(cell), dtype=np.float64)
    todo = np.arange(len(cell))
    for _ in range(1000):
        if len(todo) == 0:
            break
        y = lo[todo] + rng.random(len(todo)) * (hi[todo] - lo[todo])
        ratio = np.exp(((peak[todo] - mu) ** 2 - (y - mu) ** 2) / (2 * sigma * sigma))
        ok = rng.random(len(todo)) < ratio
        out[todo[ok]] = np.exp(y[ok])
        todo = todo[~ok]
    out[todo] = np.exp(peak[todo])
    return out


@functools.lru_cache(maxsize=8)
def delay_table(mixture: DelayMixture) -> DelayTable:
    """The grid and the mixture's CDF on it (shares normalized to sum 1, as the draws do); one
    table per mixture a process sees (its arrays must not be written to)."""
    comps = mixture.components
    ends = [c.min_seconds for c in comps] + [c.max_seconds for c in comps]
    lo, hi = min(ends), max(ends)
    grid = np.geomspace(lo, hi, GRID_CELLS + 1)
    edges = np.unique(np.concatenate([grid, np.asarray(ends, dtype=np.float64)]))
    shares = np.asarray([c.share for c in comps], dtype=np.float64)
    shares /= shares.sum()
    comp_cdf = np.stack([_component_cdf(mixture, k, edges) for k in range(len(comps))])
    comp_cdf *= shares[:, None]
    cdf = comp_cdf.sum(axis=0)
    for array in (edges, comp_cdf, cdf):  # shared by every call (the cache): read-only
        array.setflags(write=False)
    return DelayTable(edges, comp_cdf, cdf, mixture)


def _component_cdf(m: DelayMixture, k: int, x: F64) -> F64:
    """Component k's CDF at delays x (seconds)."""
    c = m.components[k]
    inside = np.clip(x, c.min_seconds, c.max_seconds)
    if k == 0:
        return (inside - c.min_seconds) / (c.max_seconds - c.min_seconds)
    if k == 1:
        near = m.near_term
        scale = max(near.mean_seconds - near.min_seconds, 1.0)
        top = 1.0 - math.exp(-(near.max_seconds - near.min_seconds) / scale)
        return -np.expm1(-(inside - near.min_seconds) / scale) / top
    if k == 2:
        ln = m.delayed.lognormal

        def phi(v: float) -> float:
            return 0.5 * math.erfc(-(math.log(v) - ln.mu) / (ln.sigma * math.sqrt(2.0)))

        a, b = phi(c.min_seconds), phi(c.max_seconds)
        return np.asarray([(phi(float(v)) - a) / (b - a) for v in inside], dtype=np.float64)
    lo, hi = math.log(c.min_seconds), math.log(c.max_seconds)
    return (np.log(inside) - lo) / (hi - lo)
