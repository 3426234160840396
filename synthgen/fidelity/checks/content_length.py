"""Check 3: TEXT content length — log-normal mu and sigma, mean, median; caption share.

mu and sigma are fitted on the log scale from quantiles: mu = ln(median), sigma = ln(q75 / q25)
/ (2 * 0.6745). Quantiles inside the cap are unaffected by it (values clipped at min_length or
max_length only move the tails), which is how the fit honors the cap.
"""

from __future__ import annotations

import math

import numpy as np

from synthgen.fidelity import expected as ex
from synthgen.fidelity.checks.base import DISTRIBUTION, Check, histogram_quantile, log_binned_chart
from synthgen.fidelity.context import CheckContext
from synthgen.fidelity.facts import message_profile
from synthgen.fidelity.results import Metric, Outcome, exact, relative, skipped
from synthgen.gate import NOISE_Z


def run(ctx: CheckContext) -> Outcome:
    """Compare TEXT lengths with clip(round(LogNormal(mu, sigma)), min, max)."""
    c, tol = ctx.spec.content, ctx.tolerance
    prof = message_profile(ctx)
    text = prof.type == "TEXT"
    metrics: list[Metric] = [
        exact("TEXT messages without content", int(prof.count[text & prof.no_content].sum()))
    ]
    body = text & ~prof.no_content
    lengths, counts = prof.length[body], prof.count[body]
    n = int(counts.sum())
    bad = (lengths < c.min_length) | (lengths > c.max_length)
    metrics.append(
        exact(f"TEXT lengths outside [{c.min_length}, {c.max_length}]", int(counts[bad].sum()))
    )
    model = ex.capped_lognormal_int(
        c.length_lognormal.mu, c.length_lognormal.sigma, c.min_length, c.max_length
    )
    if n < 10:
        metrics.append(skipped("TEXT length", model.mean, f"insufficient data: {n} TEXT messages"))
    else:
        metrics += _length_metrics(ctx, model, lengths, counts, n)
    media = prof.type != "TEXT"
    n_media = int(prof.count[media].sum())
    if n_media:
        captioned = int(prof.count[media & ~prof.no_content].sum())
        p = c.caption_share
        noise = NOISE_Z * math.sqrt(p * (1 - p) / n_media) / p if p > 0 else 0.0
        metrics.append(
            relative("caption share of media messages", p, captioned / n_media, tol, noise)
        )
    chart = log_binned_chart(
        "content_length",
        "TEXT content length",
        "characters",
        c.min_length,
        c.max_length,
        lengths,
        counts,
        n,
        model,
    )
    return Outcome(metrics=metrics, charts=[chart])


def _length_metrics(
    ctx: CheckContext, model: ex.Pmf, lengths: np.ndarray, counts: np.ndarray, n: int
) -> list[Metric]:
    c, tol = ctx.spec.content, ctx.tolerance
    q25, q50, q75 = (histogram_quantile(lengths, counts, q) for q in (0.25, 0.5, 0.75))
    mu_noise, sigma_noise = ex.lognormal_fit_noise(c.length_lognormal.sigma, n, NOISE_Z)
    out: list[Metric] = []
    if c.min_length < q25 and q75 < c.max_length:
        mu = math.log(q50)
        sigma = math.log(q75 / q25) / (2 * ex.IQR_Z)
        out.append(
            relative(
                "log-normal mu (log median)",
                c.length_lognormal.mu,
                mu,
                tol,
                mu_noise / abs(c.length_lognormal.mu) if c.length_lognormal.mu else 0.0,
            )
        )
        out.append(
            relative(
                "log-normal sigma (log IQR)",
                c.length_lognormal.sigma,
                sigma,
                tol,
                sigma_noise / c.length_lognormal.sigma,
            )
        )
    else:
        out.append(
            skipped(
                "log-normal mu, sigma",
                c.length_lognormal.mu,
                "the cap reaches the quartiles: a quantile fit is not possible",
            )
        )
    mean = float(lengths @ counts) / n
    out.append(
        relative(
            "mean length", model.mean, mean, tol, ex.mean_noise(model, n, NOISE_Z), unit="chars"
        )
    )
    out.append(
        relative(
            "median length",
            model.quantile(0.5),
            q50,
            tol,
            model.quantile_noise(0.5, n, NOISE_Z),
            unit="chars",
        )
    )
    return out


CHECK = Check(3, "content_length", "Content length", DISTRIBUTION, run)
