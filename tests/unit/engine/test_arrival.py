"""Ids in arrival order: offsets per (shard, time bucket) and the numbering they give."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgen.engine import arrival_ids as arrival
from synthgen.generate.blueprint import make_plan
from synthgen.spec import load_spec


def test_offsets_count_every_earlier_bucket_then_earlier_shards() -> None:
    # 2 shards x 3 buckets: shard 0 has 2, 0, 1 rows; shard 1 has 1, 3, 0
    counts = np.array([[2, 0, 1], [1, 3, 0]], dtype=np.int32)
    offsets = arrival.shard_offsets(counts)
    assert offsets.tolist() == [[0, 3, 6], [2, 3, 7]]
    # shard 1's rows in buckets 0, 1, 1, 1 take ids 3, 4, 5, 6 (1-based)
    assert arrival.assign_ids(np.array([0, 1, 1, 1]), offsets[1]).tolist() == [3, 4, 5, 6]
    assert arrival.assign_ids(np.array([0, 0, 2]), offsets[0]).tolist() == [1, 2, 7]


@settings(max_examples=40, deadline=None)
@given(
    shards=st.integers(1, 6),
    rows=st.integers(0, 300),
    buckets=st.sampled_from([1, 4, 64]),
    seed=st.integers(0, 2**31),
)
def test_ids_are_a_permutation_sorted_by_bucket_then_shard(
    shards: int, rows: int, buckets: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    times = [np.sort(rng.integers(0, 1000, rng.integers(0, rows + 1))) for _ in range(shards)]
    window = (0, 999)
    counts = np.stack(
        [np.bincount(arrival.buckets_of(t, window, buckets), minlength=buckets) for t in times]
    ).astype(np.int32)
    offsets = arrival.shard_offsets(counts)
    ids = [
        arrival.assign_ids(arrival.buckets_of(t, window, buckets), offsets[s])
        for s, t in enumerate(times)
    ]
    every = np.concatenate(ids) if ids else np.empty(0, np.int64)
    assert sorted(every.tolist()) == list(range(1, len(every) + 1))
    key = np.concatenate(
        [arrival.buckets_of(t, window, buckets) * shards + s for s, t in enumerate(times)]
    )
    # ids follow (bucket, shard), and time inside a shard
    assert np.all(np.diff(key[np.argsort(every)]) >= 0)
    for shard_ids in ids:
        assert np.all(np.diff(shard_ids) > 0)


def test_bucket_count_bounds_the_parent_matrix() -> None:
    assert arrival.bucket_count(1) == arrival.MAX_BUCKETS
    assert arrival.bucket_count(20) == 1 << 17  # dev: ~60 s buckets over 90 days
    # perf (1 200 shards): at the floor of ~32-minute buckets, 2 x 4 bytes x 4 096 x 1 200 = 39 MB
    assert arrival.bucket_count(1200) == arrival.MIN_BUCKETS
    assert arrival.bucket_count(10**6) == arrival.MIN_BUCKETS


def test_users_are_numbered_by_sign_up_and_memberships_follow() -> None:
    spec = load_spec()
    plan = make_plan(spec, "dev", 0.01, "arrival")
    sk = plan.skeleton
    assert np.all(np.diff(sk.user_created_us) >= 0)
    # every member joined after their user signed up, under the new numbering too
    assert np.all(sk.member_joined_us >= sk.user_created_us[sk.member_user])
