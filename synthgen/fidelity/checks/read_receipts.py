"""Check 7: read rate and the share of receipts in each delay component.

The read rate is per message under `read_receipts.per = "message"` (one receipt per read
message) and per eligible (message, member) pair under "member" (a member other than the sender
who had joined by the message's time, in a room that writes receipt rows: fidelity.readers).

A receipt whose readAt would fall after the snapshot is not written, so the expectation applies
the spec's model to the observed message times: a message of age x at the snapshot gets a
receipt in band b with probability read_rate * share_b * F_b(x), F_b the band's delay CDF in
closed form. Messages (or pairs) are grouped by age in 2% steps.
"""

from __future__ import annotations

import math

import numpy as np

from synthgen.fidelity import expected_time as ext
from synthgen.fidelity.checks.base import DISTRIBUTION, Check, share
from synthgen.fidelity.context import CheckContext
from synthgen.fidelity.facts import (
    AGE_BINS_PER_E,
    DELAY_BINS_PER_DECADE,
    ReceiptProfile,
    message_times,
    receipt_profile,
)
from synthgen.fidelity.readers import reader_pairs
from synthgen.fidelity.results import Chart, Metric, Outcome, exact, relative
from synthgen.gate import NOISE_Z
from synthgen.spec import ReceiptsPer
from synthgen.units import SECONDS_PER_DAY, SECONDS_PER_HOUR

CHART_DECADES = (-1, 7)  # delay chart from 0.1 s to 10**7 s


def run(ctx: CheckContext) -> Outcome:
    """Compare the read rate and delay-component shares with the truncation-aware expectation: per
    message under the "message" model, per eligible (message, member) pair under "member"."""
    r, tol = ctx.spec.read_receipts, ctx.tolerance
    times = message_times(ctx)
    prof = receipt_profile(ctx)
    messages = float(times.hour_count.sum())
    if r.per == ReceiptsPer.MEMBER:
        pairs = reader_pairs(ctx)
        age_bin, age_count, old, units = pairs.age_bin, pairs.age_count, pairs.old, pairs.total
        label = "read rate per (message, eligible member) pair"
        cap = r.room_cap
        where = f" in rooms of at most {cap} members" if cap is not None else ""
        note = (
            f"spec read_rate {r.read_rate} per member who had joined, sender excluded{where}, "
            "less receipts past the snapshot"
        )
    else:
        age_bin, age_count, old, units = times.age_bin, times.age_count, times.old, int(messages)
        label = "read rate (receipts per message)"
        note = f"spec read_rate {r.read_rate} less receipts past the snapshot"
    ages = np.exp((age_bin + 0.5) / AGE_BINS_PER_E)
    ages_n = age_count.astype(np.float64)
    want_total, want_component = ext.receipt_expectation(r, ages, ages_n, old)
    written = prof.component >= 0
    receipts = float(prof.count[written].sum())
    want_rate = share(want_total, units)
    noise = _noise(want_rate, units)
    metrics: list[Metric] = [
        relative(label, want_rate, share(receipts, units), tol, noise, note=note),
    ]
    if r.per == ReceiptsPer.MEMBER:
        metrics.append(
            relative(
                "receipts per message",
                share(want_total, messages),
                share(receipts, messages),
                tol,
                noise,
                note=f"{units:,} eligible pairs over {int(messages):,} messages x the read rate",
            )
        )
    mixture = r.delay_mixture
    for i, (name, part) in enumerate(zip(mixture.names, mixture.components, strict=True)):
        want = share(float(want_component[i]), want_total)
        got = share(float(prof.count[prof.component == i].sum()), receipts)
        label = f"{name} share ({_span(part.min_seconds)}-{_span(part.max_seconds)})"
        metrics.append(relative(label, want, got, tol, _noise(want, want_total)))
    beyond = int(prof.count[prof.component == len(mixture.components)].sum())
    metrics.append(
        exact(f"receipts later than {_span(r.delay_mixture.components[-1].max_seconds)}", beyond)
    )
    return Outcome(metrics=metrics, charts=[_chart(ctx, prof, ages, ages_n, old)])


def _noise(p: float, n: float) -> float:
    return NOISE_Z * math.sqrt(p * (1 - p) / n) / p if p > 0 and n > 0 else 0.0


def _span(seconds: float) -> str:
    for unit, size in (("d", SECONDS_PER_DAY), ("h", SECONDS_PER_HOUR), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def _chart(
    ctx: CheckContext, p: ReceiptProfile, ages: np.ndarray, ages_n: np.ndarray, old: int
) -> Chart:
    lo, hi = CHART_DECADES
    steps = np.arange(lo * DELAY_BINS_PER_DECADE, hi * DELAY_BINS_PER_DECADE + 1)
    edges = 10.0 ** (steps / DELAY_BINS_PER_DECADE)
    written = p.component >= 0
    clipped = np.clip(p.delay_bin[written] - steps[0], 0, len(steps) - 2)
    measured = np.bincount(clipped, weights=p.count[written], minlength=len(steps) - 1)
    expected = ext.receipt_delay_histogram(ctx.spec.read_receipts, edges, ages, ages_n, old)
    return Chart(
        "receipt_delay",
        "Read receipt delay",
        "seconds from message to receipt",
        edges.tolist(),
        None,
        (measured / max(measured.sum(), 1)).tolist(),
        (expected / max(expected.sum(), 1e-300)).tolist(),
        log_x=True,
        log_y=True,
    )


CHECK = Check(7, "read_receipts", "Read receipts", DISTRIBUTION, run)
