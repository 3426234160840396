"""Check 1: band totals, the DIRECT / small / large mix, and the group-size shapes.

Each room's class comes from the data and the spec: DIRECT by its type, a group large when it has
at least the large class's minimum members, else small (facts.conversation_table). The
generator's sizeClass labels must agree with it.

The class counts are exact: the engine's resolution order makes the mix exact, the gate splits the
band's conversations by the spec's shares with its own largest-remainder rule (expected.py), so
a class one room off fails.
"""

from __future__ import annotations

import numpy as np

from synthgen.fidelity import expected as ex
from synthgen.fidelity.checks.base import DISTRIBUTION, Check, share
from synthgen.fidelity.context import CheckContext
from synthgen.fidelity.facts import conversation_table
from synthgen.fidelity.results import Chart, Metric, Outcome, exact, relative
from synthgen.gate import NOISE_Z


def run(ctx: CheckContext) -> Outcome:
    """Compare counts, class shares and size shapes with the spec's conversation model."""
    c, n = ctx.spec.conversations, ctx.counts
    table = conversation_table(ctx)
    rows = ctx.query(
        f"""
        SELECT coalesce(size_class, ''), coalesce(data_class, ''), members, count(*) AS n
        FROM {table} GROUP BY ALL
        """
    )
    users = int(ctx.scalar("SELECT count(*) FROM users"))
    messages = int(ctx.scalar("SELECT count(*) FROM messages"))
    labels = np.array([str(r[0]) for r in rows])
    data_class = np.array([str(r[1]) for r in rows])
    members = np.array([r[2] for r in rows], dtype=np.int64)
    count = np.array([r[3] for r in rows], dtype=np.int64)
    total = int(count.sum())
    # the class from the type and the members (the classes' member ranges do not overlap)
    direct = data_class == "direct"
    small = data_class == "small"
    large = data_class == "large"
    small_max, large_max = (
        min(c.small_group.max_members, n.users),
        min(c.large_group.max_members, n.users),
    )
    outside = (
        (direct & (members != 2))
        | (small & ((members < c.small_group.min_members) | (members > small_max)))
        | (large & ((members < c.large_group.min_members) | (members > large_max)))
        | (~direct & ~small & ~large)  # a type that is neither DIRECT nor GROUP
    )
    disagree = labels != data_class

    metrics: list[Metric] = [
        exact("users (band total)", users, expected=n.users),
        exact("conversations (band total)", total, expected=n.conversations),
        exact("messages (band total)", messages, expected=n.messages),
    ]
    shares = (c.mix.direct, c.mix.small_group, c.mix.large_group)
    for (label, mask, want), spec_share in zip(
        (
            ("DIRECT", direct, n.direct),
            ("small group", small, n.small),
            ("large group", large, n.large),
        ),
        shares,
        strict=True,
    ):
        got = int(count[mask].sum())
        # the mix is exact (largest remainder of the spec's shares): one room off is a defect
        metrics.append(
            exact(
                f"{label} conversations",
                got,
                expected=want,
                note=f"share {share(got, total):.4f}; spec {spec_share:g}, by largest remainder",
            )
        )
    metrics.append(
        exact("conversations outside their class's member range", int(count[outside].sum()))
    )
    metrics.append(
        exact(
            "conversations whose sizeClass disagrees with their type and members",
            int(count[disagree].sum()),
            note=f"DIRECT: direct; a group of {c.large_group.min_members} or more members: "
            "large; a smaller group: small",
        )
    )
    metrics += _shape_metrics(ctx, members, count, small, large)
    return Outcome(metrics=metrics, charts=[_chart(ctx, members, count, total)])


def _shape_metrics(
    ctx: CheckContext,
    members: np.ndarray,
    count: np.ndarray,
    small: np.ndarray,
    large: np.ndarray,
) -> list[Metric]:
    c, n, tol = ctx.spec.conversations, ctx.counts, ctx.tolerance
    out: list[Metric] = []
    small_max, large_max = (
        min(c.small_group.max_members, n.users),
        min(c.large_group.max_members, n.users),
    )
    n_small = int(count[small].sum())
    if n_small and small_max > c.small_group.min_members:
        mean = float(members[small] @ count[small]) / n_small
        fitted = ex.fit_geometric_p(n_small, mean, c.small_group.min_members, small_max)
        p = c.small_group.geometric_p
        out.append(
            relative(
                "small-group geometric p (MLE)",
                p,
                fitted,
                tol,
                ex.geometric_p_noise(p, c.small_group.min_members, small_max, n_small, NOISE_Z),
            )
        )
        model = ex.truncated_geometric(p, c.small_group.min_members, small_max)
        out.append(
            relative(
                "small-group mean size",
                model.mean,
                mean,
                tol,
                ex.mean_noise(model, n_small, NOISE_Z),
            )
        )
    n_large = int(count[large].sum())
    if n_large and large_max > c.large_group.min_members:
        sum_log = float(np.log(members[large]) @ count[large])
        fitted = ex.fit_power_law_alpha(n_large, sum_log, c.large_group.min_members, large_max)
        alpha = c.large_group.alpha
        out.append(
            relative(
                "large-group power-law alpha (MLE)",
                alpha,
                fitted,
                tol,
                ex.power_law_alpha_noise(
                    alpha, c.large_group.min_members, large_max, n_large, NOISE_Z
                ),
            )
        )
        model = ex.power_law(alpha, c.large_group.min_members, large_max)
        mean = float(members[large] @ count[large]) / n_large
        out.append(
            relative(
                "large-group mean size",
                model.mean,
                mean,
                tol,
                ex.mean_noise(model, n_large, NOISE_Z),
            )
        )
    return out


def _chart(ctx: CheckContext, members: np.ndarray, count: np.ndarray, total: int) -> Chart:
    c, n = ctx.spec.conversations, ctx.counts
    top = max(min(c.large_group.max_members, n.users), int(members.max(initial=2)))
    fine = list(range(2, min(c.large_group.min_members, 33) + 1))
    coarse = [round(float(v)) for v in np.geomspace(fine[-1], top + 1, 12)[1:]]
    edges = np.array(sorted(set(fine + coarse + [top + 1])), dtype=np.float64)
    measured = np.histogram(members, bins=edges, weights=count)[0] / max(total, 1)
    small = ex.truncated_geometric(
        c.small_group.geometric_p,
        c.small_group.min_members,
        min(c.small_group.max_members, n.users),
    )
    large = ex.power_law(
        c.large_group.alpha, c.large_group.min_members, min(c.large_group.max_members, n.users)
    )
    direct = ex.Pmf(np.array([2.0]), np.array([1.0]))
    expected = sum(
        share(k, n.conversations) * pmf.binned(edges)
        for k, pmf in ((n.direct, direct), (n.small, small), (n.large, large))
    )
    return Chart(
        "conversation_size",
        "Conversation size (members)",
        "members per conversation",
        edges.tolist(),
        None,
        measured.tolist(),
        list(np.asarray(expected)),
        log_x=True,
        log_y=True,
    )


CHECK = Check(1, "conversation_mix", "Conversation size mix", DISTRIBUTION, run)
