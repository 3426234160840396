"""Check 6: heavy rooms — their fraction, their classes, their minimum size, their message share.

Heavy rooms are the largest rooms available: large groups; small groups only once every large
group is heavy; DIRECT conversations only once every group is.

The share is derived, as the engine's resolution order says: band totals are exact and regular
rooms keep their power law, so heavy rooms hold what is left. Expected share = 1 - (regular rooms
x mean of the truncated power law) / messages; its noise comes from the exact distribution of a
sum of that many power-law draws.
"""

from __future__ import annotations

from synthgen.fidelity import expected as ex
from synthgen.fidelity.checks.base import DISTRIBUTION, Check, share
from synthgen.fidelity.context import CheckContext
from synthgen.fidelity.facts import conversation_table
from synthgen.fidelity.model import Metric, Outcome, at_least, exact, relative, skipped
from synthgen.gate import NOISE_Z


def run(ctx: CheckContext) -> Outcome:
    """Compare heavy rooms with the spec's fraction, threshold and the derived message share."""
    m, n, tol = ctx.spec.messages_per_conversation, ctx.counts, ctx.tolerance
    table = conversation_table(ctx)
    # rank 0 = large group, 1 = small group, 2 = anything else (DIRECT)
    conversations, heavy, smallest, heavy_messages, messages, misplaced = ctx.query(
        f"""
        WITH ranked AS (
          SELECT *, CASE WHEN type = 'GROUP' AND size_class = 'large' THEN 0
                         WHEN type = 'GROUP' AND size_class = 'small' THEN 1 ELSE 2 END AS rank
          FROM {table}
        )
        SELECT count(*), count(*) FILTER (WHERE is_heavy), min(messages) FILTER (WHERE is_heavy),
               coalesce(sum(messages) FILTER (WHERE is_heavy), 0), coalesce(sum(messages), 0),
               count(*) FILTER (WHERE is_heavy AND rank > (
                   SELECT coalesce(min(rank), 3) FROM ranked WHERE NOT is_heavy))
        FROM ranked
        """
    )[0]
    total = n.conversations
    metrics: list[Metric] = [
        relative(
            "heavy rooms, fraction of conversations",
            share(n.heavy, total),
            share(int(heavy), int(conversations)),
            tol,
            note=f"{n.heavy} expected = max(1, round({total} x {m.heavy.fraction}))",
        ),
        exact(
            "heavy rooms in a smaller class while a larger one has a regular room",
            int(misplaced),
            note="heavy rooms are large groups; only when every large group is heavy, small "
            "groups; only when every group is heavy, DIRECT conversations",
        ),
    ]
    if heavy:
        metrics.append(
            at_least(
                "smallest heavy room (messages)",
                n.heavy_min_messages,
                int(smallest),
                note=f"threshold {m.heavy.min_messages} x scale",
            )
        )
    else:
        metrics.append(
            skipped("smallest heavy room (messages)", n.heavy_min_messages, "no heavy rooms")
        )
    regular = n.conversations - n.heavy
    model = ex.power_law(m.regular.alpha, m.regular.min, m.regular.max)
    want = 1.0 - regular * model.mean / n.messages
    if want <= 0:
        metrics.append(
            skipped(
                "heavy rooms' share of messages",
                want,
                "regular rooms alone are expected to exceed the band total",
            )
        )
    else:
        # the regular rooms' sum is skewed (a few rooms near the maximum): its exact tails
        low_sum, high_sum = ex.sum_bounds(model, regular, NOISE_Z)
        mean_sum = regular * model.mean
        noise = (
            (high_sum - mean_sum) / n.messages / want,
            (mean_sum - low_sum) / n.messages / want,
        )
        metrics.append(
            relative(
                "heavy rooms' share of messages",
                want,
                share(int(heavy_messages), int(messages)),
                tol,
                noise,
                note=f"1 - {regular} regular rooms x {model.mean:.2f} / {n.messages}",
            )
        )
    return Outcome(metrics=metrics)


CHECK = Check(6, "heavy_rooms", "Heavy rooms", DISTRIBUTION, run)
