"""Check 2: messages per regular room — power-law alpha (MLE), median, p95, p99."""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from synthgen.fidelity import expected as ex
from synthgen.fidelity.checks.base import DISTRIBUTION, Check, histogram_quantile, log_binned_chart
from synthgen.fidelity.context import CheckContext
from synthgen.fidelity.facts import conversation_table
from synthgen.fidelity.results import Metric, Outcome, exact, relative, skipped
from synthgen.gate import NOISE_Z

QUANTILES = (("median", 0.5), ("p95", 0.95), ("p99", 0.99))


def run(ctx: CheckContext) -> Outcome:
    """Fit the regular rooms' counts and compare with the spec's truncated power law."""
    m, tol = ctx.spec.messages_per_conversation, ctx.tolerance
    table = conversation_table(ctx)
    rows = ctx.query(
        f"""
        SELECT messages, count(*) AS n FROM {table}
        WHERE NOT heavy GROUP BY messages
        """
    )
    values = np.array([r[0] for r in rows], dtype=np.int64)
    counts = np.array([r[1] for r in rows], dtype=np.int64)
    inside = (values >= m.regular.min) & (values <= m.regular.max)
    rooms = int(counts.sum())
    model = ex.power_law(m.regular.alpha, m.regular.min, m.regular.max)
    metrics: list[Metric] = [
        exact(
            f"regular rooms outside [{m.regular.min}, {m.regular.max}] messages",
            int(counts[~inside].sum()),
        )
    ]
    fit_n = int(counts[inside].sum())
    if m.regular.min == m.regular.max:  # one possible count: any alpha fits, the MLE is undefined
        metrics.append(
            skipped(
                "regular-room power-law alpha (MLE)",
                m.regular.alpha,
                f"not measurable: the spec gives every regular room {m.regular.min} messages",
            )
        )
    elif fit_n < 2:
        metrics.append(
            skipped(
                "regular-room power-law alpha (MLE)",
                m.regular.alpha,
                f"insufficient data: {fit_n} regular rooms",
            )
        )
    else:
        sum_log = float(np.log(values[inside]) @ counts[inside])
        fitted = ex.fit_power_law_alpha(fit_n, sum_log, m.regular.min, m.regular.max)
        noise = ex.power_law_alpha_noise(
            m.regular.alpha, m.regular.min, m.regular.max, fit_n, NOISE_Z
        )
        metrics.append(
            relative(
                "regular-room power-law alpha (MLE)",
                m.regular.alpha,
                fitted,
                tol,
                noise,
                sample=fit_n,
                noise_at=lambda k: ex.power_law_alpha_noise(
                    m.regular.alpha, m.regular.min, m.regular.max, k, NOISE_Z
                ),
            )
        )
    for label, q in QUANTILES:
        want = model.quantile(q)
        if rooms == 0:
            metrics.append(skipped(f"regular-room {label} messages", want, "no regular rooms"))
            continue
        got = histogram_quantile(values, counts, q)
        metrics.append(
            relative(
                f"regular-room {label} messages",
                want,
                got,
                tol,
                model.quantile_noise(q, rooms, NOISE_Z),
                sample=rooms,
                noise_at=partial(_quantile_noise, model, q),
            )
        )
    notes = _budget_note(ctx, model, rooms)
    chart = log_binned_chart(
        "messages_per_conversation",
        "Messages per regular room",
        "messages per conversation",
        m.regular.min,
        max(m.regular.max, int(values.max(initial=1))),
        values,
        counts,
        rooms,
        model,
    )
    return Outcome(metrics=metrics, charts=[chart], notes=notes)


def _quantile_noise(model: ex.Pmf, q: float, n: int) -> tuple[float, float]:
    return model.quantile_noise(q, n, NOISE_Z)


def _budget_note(ctx: CheckContext, model: ex.Pmf, rooms: int) -> list[str]:
    """Regular rooms are capped only when their draw would leave heavy rooms below threshold."""
    n = ctx.counts
    budget = n.messages - n.heavy * n.heavy_min_messages
    expected_sum = rooms * model.mean
    spread = math.sqrt(rooms * model.variance)
    if expected_sum + NOISE_Z * spread > budget:
        return [
            f"regular rooms expect {expected_sum:,.0f} ± {spread:,.0f} messages against a "
            f"budget of {budget:,}: the generator may cap the largest ones"
        ]
    return []


CHECK = Check(2, "messages_per_conversation", "Messages per conversation", DISTRIBUTION, run)
