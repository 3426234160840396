"""Check 6: heavy rooms — their count, labels, classes, minimum size and message share.

Which rooms are heavy is decided from the data and the spec (classes.heavy_rule); the count is
exact, max(1, round(conversations x fraction)). Heavy rooms must be the largest rooms available
(large groups, then small groups, then DIRECT). The expected share is what regular rooms leave:
1 - (regular rooms x mean of the truncated power law) / messages, with the noise of a sum of that
many power-law draws (docs/design.md, "The fidelity gate").
"""

from __future__ import annotations

from synthgen.fidelity import expected as ex
from synthgen.fidelity.checks.base import DISTRIBUTION, Check, share
from synthgen.fidelity.classes import heavy_by_count
from synthgen.fidelity.context import CheckContext
from synthgen.fidelity.facts import conversation_table
from synthgen.fidelity.results import Metric, Outcome, at_least, exact, relative, skipped
from synthgen.gate import NOISE_Z


def run(ctx: CheckContext) -> Outcome:
    """Compare heavy rooms with the spec's count, threshold and the derived message share."""
    m, n = ctx.spec.messages_per_conversation, ctx.counts
    table = conversation_table(ctx)
    threshold, by_count = n.heavy_min_messages, heavy_by_count(ctx)
    # rank 0 = large group, 1 = small group, 2 = anything else (DIRECT), by members and type
    heavy, smallest, heavy_messages, messages, misplaced, mislabelled, reaching = ctx.query(
        f"""
        WITH ranked AS (
          SELECT *, CASE data_class WHEN 'large' THEN 0 WHEN 'small' THEN 1 ELSE 2 END AS rank
          FROM {table}
        )
        SELECT count(*) FILTER (WHERE heavy), min(messages) FILTER (WHERE heavy),
               coalesce(sum(messages) FILTER (WHERE heavy), 0), coalesce(sum(messages), 0),
               count(*) FILTER (WHERE heavy AND rank > (
                   SELECT coalesce(min(rank), 3) FROM ranked WHERE NOT heavy)),
               count(*) FILTER (WHERE (is_heavy AND messages < {threshold})
                                   OR (NOT is_heavy AND messages > {m.regular.max})),
               count(*) FILTER (WHERE messages >= {threshold})
        FROM ranked
        """
    )[0]
    rule = f"max(1, round({n.conversations} x {m.heavy.fraction}))"
    metrics: list[Metric] = [
        exact(
            "heavy-room count",
            int(heavy),
            expected=n.heavy,
            note=f"{rule}; "
            + (
                f"rooms of at least {threshold} messages (regular rooms end at {m.regular.max})"
                if by_count
                else f"as labelled: regular rooms reach {m.regular.max} messages, past the "
                f"threshold {threshold}, so the count alone cannot say which rooms are heavy "
                f"({int(reaching)} rooms reach it)"
            ),
        ),
        exact(
            "rooms whose isHeavy label disagrees with their message count",
            int(mislabelled),
            note=f"labelled heavy with fewer than {threshold} messages, or labelled regular "
            f"with more than {m.regular.max}",
        ),
        exact(
            "heavy rooms in a smaller class while a larger one has a regular room",
            int(misplaced),
            note="classes by members: heavy rooms are large groups; only when every large group "
            "is heavy, small groups; only when every group is heavy, DIRECT conversations",
        ),
    ]
    if heavy:
        metrics.append(
            at_least(
                "smallest heavy room (messages)",
                threshold,
                int(smallest),
                note=f"threshold {m.heavy.min_messages} x scale",
            )
        )
    else:
        metrics.append(skipped("smallest heavy room (messages)", threshold, "no heavy rooms"))
    metrics.append(_share(ctx, int(heavy_messages), int(messages)))
    return Outcome(metrics=metrics)


def _share(ctx: CheckContext, heavy_messages: int, messages: int) -> Metric:
    """The heavy rooms' share of messages against 1 - regular rooms x their law's mean / total."""
    m, n, tol = ctx.spec.messages_per_conversation, ctx.counts, ctx.tolerance
    regular = n.conversations - n.heavy
    model = ex.power_law(m.regular.alpha, m.regular.min, m.regular.max)
    want = 1.0 - regular * model.mean / n.messages
    if want <= 0:
        return skipped(
            "heavy rooms' share of messages",
            want,
            "regular rooms alone are expected to exceed the band total",
        )
    # the regular rooms' sum is skewed (a few rooms near the maximum): its exact tails
    low_sum, high_sum = ex.sum_bounds(model, regular, NOISE_Z)
    mean_sum = regular * model.mean
    noise = (
        (high_sum - mean_sum) / n.messages / want,
        (mean_sum - low_sum) / n.messages / want,
    )
    return relative(
        "heavy rooms' share of messages",
        want,
        share(heavy_messages, messages),
        tol,
        noise,
        note=f"1 - {regular} regular rooms x {model.mean:.2f} / {n.messages}",
    )


CHECK = Check(6, "heavy_rooms", "Heavy rooms", DISTRIBUTION, run)
