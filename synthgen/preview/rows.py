"""Rows per table for a plan, without generating: exact where the plan fixes them, an expectation
and its spread where the engine draws them.

Users, conversations, memberships and messages come from the plan's skeleton (exact).
Attachments and read receipts are sums of per-message (or per message-member pair) probabilities,
with a binomial spread; the receipt figure comes from the estimator registered for the spec's
receipt model (`RECEIPT_ESTIMATORS`, keyed by `read_receipts.per`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from synthgen.engine.timemodel import IntensityGrid
from synthgen.fidelity.expected_time import delay_cdf
from synthgen.generate.blueprint import Plan
from synthgen.spec import ReceiptsPer, Spec
from synthgen.units import US_PER_SECOND

SPREAD_SIGMAS = 3.0  # the "±" printed and tested: three binomial standard deviations
FINE_STEP_US = 60 * US_PER_SECOND  # the receipt integral's time step: one minute


@dataclass(frozen=True)
class RowEstimate:
    """Rows of one table: exact (sd 0) or an expectation with its standard deviation."""

    mean: float
    sd: float = 0.0
    exact: bool = True

    @property
    def spread(self) -> float:
        """The ± the plan prints: SPREAD_SIGMAS standard deviations (0 when exact)."""
        return SPREAD_SIGMAS * self.sd

    def to_dict(self) -> dict[str, float | bool]:
        """JSON-ready figures."""
        return {
            "rows": round(self.mean) if self.exact else round(self.mean, 1),
            "exact": self.exact,
            "sd": round(self.sd, 1),
            "spread": round(self.spread, 1),
        }


ReceiptEstimator = Callable[[Spec, Plan], RowEstimate]


def table_rows(spec: Spec, plan: Plan) -> dict[str, RowEstimate]:
    """Rows per Parquet table (the sidecar conversation_traits included), in load order."""
    n = plan.counts.messages
    media = spec.media.ratio
    members = len(plan.skeleton.member_user)
    return {
        "users": RowEstimate(plan.counts.users),
        "conversations": RowEstimate(plan.counts.conversations),
        "conversation_users": RowEstimate(members),
        "conversation_traits": RowEstimate(plan.counts.conversations),
        "messages": RowEstimate(n),
        "attachments": RowEstimate(n * media, math.sqrt(n * media * (1 - media)), exact=False),
        "read_receipts": receipt_rows(spec, plan),
    }


def receipt_model_name(spec: Spec) -> str:
    """The spec's receipt model: 'message' (one receipt per read message) unless it says other."""
    return str(spec.read_receipts.per)


def receipt_rows(spec: Spec, plan: Plan) -> RowEstimate:
    """Expected receipts under the spec's receipt model (the spec admits no other)."""
    return RECEIPT_ESTIMATORS[spec.read_receipts.per](spec, plan)


def _per_message(spec: Spec, plan: Plan) -> RowEstimate:
    """One receipt per read message: sum over messages of read_rate x P(delay <= snapshot - t).

    A piece's messages follow the intensity over its time range, so the sum over a piece is its
    count times the intensity-weighted mean of the delay CDF at (snapshot - t) over the range;
    that mean comes from one cumulative integral on a one-minute grid of the window.
    """
    p_before = piece_read_before_snapshot(spec, plan)
    counts = np.concatenate([t.piece_count for t in plan.shard_slices]).astype(np.float64)
    p = spec.read_receipts.read_rate * p_before
    mean = float((counts * p).sum())
    sd = math.sqrt(float((counts * p * (1 - p)).sum()))
    return RowEstimate(mean, sd, exact=False)


@dataclass(frozen=True)
class _ReadWeights:
    """The window's intensity mass M(t) and the cumulative W(t) of intensity x P(a delay drawn at
    t lands by the snapshot), on a one-minute grid: a piece of messages over [lo, hi] has a mean
    chance (W(hi) - W(lo)) / (M(hi) - M(lo)) that a read of one of its messages is written."""

    grid: IntensityGrid
    fine: NDArray[np.float64]
    weighted: NDArray[np.float64]

    @classmethod
    def of(cls, spec: Spec) -> _ReadWeights:
        grid = IntensityGrid.build(spec.time)
        snapshot = spec.time.snapshot_us
        fine = np.arange(grid.start_us, snapshot + 1, FINE_STEP_US, dtype=np.int64)
        if fine[-1] != snapshot:
            fine = np.append(fine, snapshot)
        mass = grid.mass(fine)
        mid = (fine[:-1] + fine[1:]) / 2
        cdf = delay_cdf(spec.read_receipts, (snapshot - mid) / US_PER_SECOND)
        weighted = np.concatenate([[0.0], np.cumsum(cdf * np.diff(mass))])
        return cls(grid, fine.astype(np.float64), weighted)

    def mass(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(self.grid.mass(t.astype(np.int64)), dtype=np.float64)

    def w(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(np.interp(t, self.fine, self.weighted), dtype=np.float64)


def piece_read_before_snapshot(spec: Spec, plan: Plan) -> NDArray[np.float64]:
    """Per plan piece (in task order): the chance that a receipt drawn for one of its messages
    lands at or before the snapshot (the delay mixture's CDF, averaged over the piece's times)."""
    rw = _ReadWeights.of(spec)
    lo = np.concatenate([t.piece_lo_us for t in plan.shard_slices]).astype(np.float64)
    hi = np.concatenate([t.piece_hi_us for t in plan.shard_slices]).astype(np.float64)
    return _piece_mean(spec, rw, lo, hi, lo, hi)


def _piece_mean(
    spec: Spec,
    rw: _ReadWeights,
    lo: NDArray[np.float64],
    hi: NDArray[np.float64],
    start: NDArray[np.float64],
    end: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Per piece [lo, hi]: the chance that one of its messages falls in [start, end] (inside the
    piece) and a read of it lands by the snapshot."""
    span = rw.mass(hi) - rw.mass(lo)
    # a piece of zero intensity mass (never in practice) gets the CDF at its own time
    point = delay_cdf(spec.read_receipts, (spec.time.snapshot_us - lo) / US_PER_SECOND)
    point = np.where((start <= lo) & (end >= hi), point, 0.0)
    safe = np.where(span > 0, span, 1.0)
    inside = np.maximum(rw.w(end) - rw.w(start), 0.0) / safe
    return np.asarray(np.where(span > 0, inside, point), dtype=np.float64)


def _per_member(spec: Spec, plan: Plan) -> RowEstimate:
    """One receipt per reading member: each (message, member other than the sender who had
    joined by then) pair is read with probability read_rate and written if its delay lands by
    the snapshot, in rooms of at most per_member_max_members members.

    Per (piece, member) pair, the piece's count times the chance that a message of the piece
    comes at or after the member joined and its read lands by the snapshot (the piece's
    intensity-weighted mean, as for one receipt per message); less, per piece, the sender (a
    member who had always joined).
    """
    r = spec.read_receipts
    rw = _ReadWeights.of(spec)
    mean = var = 0.0
    for t in plan.shard_slices:
        local = t.piece_conv - t.conv_first
        size = np.diff(t.member_offsets)[local]
        pieces = np.flatnonzero(r.writes_rows(size))
        if len(pieces) == 0:
            continue
        lo, hi = t.piece_lo_us[pieces].astype(np.float64), t.piece_hi_us[pieces].astype(np.float64)
        count = t.piece_count[pieces].astype(np.float64)
        per_piece = size[pieces]
        pair_piece = np.repeat(np.arange(len(pieces)), per_piece)
        starts = t.member_offsets[local[pieces]]
        member = np.arange(len(pair_piece)) - np.repeat(np.cumsum(per_piece) - per_piece, per_piece)
        joined = t.member_joined_us[np.repeat(starts, per_piece) + member].astype(np.float64)
        plo, phi = lo[pair_piece], hi[pair_piece]
        p_member = r.read_rate * _piece_mean(spec, rw, plo, phi, np.clip(joined, plo, phi), phi)
        p_sender = r.read_rate * _piece_mean(spec, rw, lo, hi, lo, hi)
        mean += float((count[pair_piece] * p_member).sum() - (count * p_sender).sum())
        var += float(
            (count[pair_piece] * p_member * (1 - p_member)).sum()
            - (count * p_sender * (1 - p_sender)).sum()
        )
    return RowEstimate(mean, math.sqrt(max(var, 0.0)), exact=False)


RECEIPT_ESTIMATORS: dict[ReceiptsPer, ReceiptEstimator] = {
    ReceiptsPer.MESSAGE: _per_message,
    ReceiptsPer.MEMBER: _per_member,
}
