"""The plan's row model and size parsing, against the engine's own draws."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from synthgen.engine.arrival_ids import arrival
from synthgen.engine.receipts import receipt_delays_us
from synthgen.errors import SynthgenError
from synthgen.generate.blueprint import Plan, make_plan
from synthgen.preview.figures import human_bytes, parse_size
from synthgen.preview.rows import RECEIPT_ESTIMATORS, delay_cdf, receipt_rows, table_rows
from synthgen.spec import Spec, load_spec


def test_delay_cdf_matches_the_engines_draws() -> None:
    spec = load_spec()
    delays, _ = receipt_delays_us(np.random.default_rng(5), spec, 400_000)
    seconds = np.array([1.0, 20.0, 60.0, 600.0, 3600.0, 86_400.0, 5 * 86_400.0, 20 * 86_400.0])
    empirical = (delays[None, :] / 1e6 <= seconds[:, None]).mean(axis=1)
    model = delay_cdf(spec.read_receipts, seconds)
    assert np.abs(model - empirical).max() < 0.004
    assert delay_cdf(spec.read_receipts, np.array([0.0]))[0] == 0.0
    assert delay_cdf(spec.read_receipts, np.array([31 * 86_400.0]))[0] == pytest.approx(1.0)


def test_exact_tables_come_from_the_plan_and_random_ones_carry_a_spread() -> None:
    spec = load_spec()
    plan = make_plan(spec, "dev", 0.02, "unit")
    rows = table_rows(spec, plan)
    assert rows["users"].mean == plan.counts.users == 100
    assert rows["messages"].mean == 100_000 and rows["messages"].exact
    assert rows["conversation_users"].mean == len(plan.skeleton.member_user)
    assert rows["conversation_traits"].mean == rows["conversations"].mean == 160
    att = rows["attachments"]
    assert not att.exact and att.mean == pytest.approx(100_000 * spec.media.ratio)
    assert att.sd == pytest.approx(math.sqrt(100_000 * 0.15 * 0.85))
    assert att.spread == pytest.approx(3 * att.sd)
    per_message = receipt_rows(_with_receipts(spec, per="message"), plan)
    # read_rate 0.82, less the receipts that would land after the snapshot
    assert 0.78 * 100_000 < per_message.mean < 0.82 * 100_000
    assert 0 < per_message.sd < math.sqrt(per_message.mean)
    assert rows["read_receipts"] == receipt_rows(spec, plan)


def _with_receipts(spec: Spec, **fields: Any) -> Spec:
    return replace(spec, read_receipts=replace(spec.read_receipts, **fields))


def _eligible_pairs(spec: Spec, plan: Plan, cap: int) -> float:
    """Eligible (message, member) pairs of the engine's own messages, drawn shard by shard."""
    total = 0
    for task in plan.shard_slices:
        created, local_conv, _ = arrival(
            spec,
            plan.seed,
            task.shard,
            task.piece_conv,
            task.piece_lo_us,
            task.piece_hi_us,
            task.piece_count,
            task.conv_first,
        )
        size = np.diff(task.member_offsets)[local_conv]
        first = task.member_offsets[:-1][local_conv]
        joined = np.zeros(len(created), dtype=np.int64)
        for k in range(int(size.max())):  # members in join order: the k-th has joined or not
            row = np.minimum(first + k, len(task.member_joined_us) - 1)
            joined += (k < size) & (task.member_joined_us[row] <= created)
        total += int(((joined - 1) * (size <= cap)).sum())
    return float(total)


def test_receipt_models_plug_in_by_name() -> None:
    spec = load_spec()
    plan = make_plan(spec, "dev", 0.02, "unit")
    assert set(RECEIPT_ESTIMATORS) == {"message", "member"}
    assert receipt_rows(spec, plan) == RECEIPT_ESTIMATORS["member"](spec, plan)
    message = _with_receipts(spec, per="message", per_member_max_members=None)
    assert receipt_rows(message, plan) == RECEIPT_ESTIMATORS["message"](message, plan)


@pytest.mark.parametrize("cap", [None, 20, 8])
def test_per_member_estimate_follows_the_eligible_pairs(cap: int | None) -> None:
    """The estimate is read_rate x the eligible pairs, less what the snapshot cuts: between
    0.9 and 1 times read_rate x the pairs counted on the engine's own message times."""
    spec = _with_receipts(load_spec(), per_member_max_members=cap)
    plan = make_plan(spec, "dev", 0.02, "unit")
    pairs = _eligible_pairs(spec, plan, cap or 10**9)
    estimate = receipt_rows(spec, plan)
    rate = spec.read_receipts.read_rate
    assert pairs > 1000
    assert 0.9 * rate * pairs < estimate.mean < rate * pairs
    assert 0 < estimate.sd < math.sqrt(estimate.mean)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2GiB", 2 << 30), ("500MB", 500_000_000), ("1.5gb", 1_500_000_000), ("4096", 4096)],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text, "--min-free") == expected


@pytest.mark.parametrize("text", ["", "lots", "-1GB", "2 parsecs"])
def test_parse_size_names_the_flag(text: str) -> None:
    with pytest.raises(SynthgenError, match="--min-free"):
        parse_size(text, "--min-free")


def test_human_bytes() -> None:
    assert human_bytes(1_234_000_000) == "1.23 GB"
    assert human_bytes(999) == "999 B"
