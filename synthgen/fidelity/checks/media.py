"""Check 4: media ratio, per-type mix, and one attachment for exactly the non-TEXT messages."""

from __future__ import annotations

import math

from synthgen.fidelity.checks.base import DISTRIBUTION, Check, share
from synthgen.fidelity.context import CheckContext
from synthgen.fidelity.facts import attachment_profile, message_profile
from synthgen.fidelity.results import (
    Chart,
    Finding,
    Metric,
    Outcome,
    exact,
    relative,
    skipped,
)
from synthgen.gate import NOISE_Z


def _binomial_noise(p: float, n: float) -> float:
    return NOISE_Z * math.sqrt(p * (1 - p) / n) / p if p > 0 and n > 0 else 0.0


def run(ctx: CheckContext) -> Outcome:
    """Compare type shares with the spec and match attachments to media messages."""
    media_model, tol = ctx.spec.media, ctx.tolerance
    prof = message_profile(ctx)
    total = int(prof.count.sum())
    by_type = {t: int(prof.count[prof.type == t].sum()) for t in ("TEXT", *media_model.kinds)}
    n_media = total - by_type["TEXT"]
    ratio = media_model.ratio
    metrics: list[Metric] = []
    if total:
        noise = _binomial_noise(ratio, total)
        metrics.append(relative("media ratio", ratio, share(n_media, total), tol, noise))
    else:
        metrics.append(skipped("media ratio", ratio, "insufficient data: no messages"))
    for kind, kind_share in zip(media_model.kinds, media_model.kind_shares, strict=True):
        if not n_media:  # a mix of no media messages is undefined (the ratio judges their absence)
            reason = "insufficient data: no media messages"
            metrics.append(skipped(f"{kind} share of media", kind_share, reason))
            continue
        metrics.append(
            relative(
                f"{kind} share of media",
                kind_share,
                share(by_type[kind], n_media),
                tol,
                _binomial_noise(kind_share, total * ratio),
            )
        )
    violations, findings = _attachment_violations(ctx)
    metrics += [exact(label, count) for label, count in violations.items()]
    labels = ["TEXT", *media_model.kinds]
    expected = [1 - ratio, *(ratio * s for s in media_model.kind_shares)]
    measured = [share(by_type[t], total) for t in labels]
    chart = Chart(
        "message_types", "Message type mix", "message type", None, labels, measured, expected
    )
    return Outcome(metrics=metrics, charts=[chart], findings=findings)


def _attachment_violations(ctx: CheckContext) -> tuple[dict[str, int], list[Finding]]:
    a = attachment_profile(ctx)
    violations = {
        "media messages without an attachment": a.media_without,
        "messages with more than one attachment": a.multiple,
        "TEXT messages with an attachment": a.text_with,
        "attachments whose kind differs from the message type": a.kind_mismatch,
        "attachments with a MIME type not listed for their kind": a.bad_mime,
    }
    findings = [
        Finding("media message without an attachment", "messages", "id", str(mid), "")
        for mid in a.sample_media_without
    ]
    return violations, findings


CHECK = Check(4, "media", "Media ratio and attachments", DISTRIBUTION, run)
