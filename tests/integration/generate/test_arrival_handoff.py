"""The id pass hands each shard task the arrays it drew: the same arrays, used once, then gone.

Byte-identity of a build with the handoff and one without it is in test_determinism (its
reversed-order build runs every shard task without a kept file).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synthgen.engine.arrival_ids import arrival
from synthgen.generate.blueprint import make_plan
from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.generate.ids import ArrivalTask, count_arrivals, keep_paths, load_arrival, window_of
from synthgen.spec import load_spec


def test_kept_arrays_are_the_shards_draw_and_are_removed_once_read(tmp_path: Path) -> None:
    spec = load_spec()
    plan = make_plan(spec, "dev", 0.01, "handoff")
    s = plan.shard_slices[0]
    path = keep_paths(plan, tmp_path)[s.shard]
    counts = count_arrivals(ArrivalTask(spec, "handoff", s, window_of(spec), 64, path))
    assert Path(path).is_file() and int(counts[0].sum()) == int(s.piece_count.sum())
    drawn = load_arrival(path)
    assert drawn is not None and not Path(path).exists()
    fresh = arrival(
        spec,
        "handoff",
        s.shard,
        s.piece_conv,
        s.piece_lo_us,
        s.piece_hi_us,
        s.piece_count,
        s.conv_first,
    )
    for kept, own in zip(drawn, fresh, strict=True):
        assert kept.dtype == own.dtype and np.array_equal(kept, own)
    assert load_arrival(path) is None  # gone: the task draws them itself


def test_a_torn_file_is_drawn_again_and_a_build_leaves_none(tmp_path: Path) -> None:
    torn = tmp_path / "torn.npz"
    torn.write_bytes(b"PK\x03\x04 not a whole archive")
    assert load_arrival(str(torn)) is None
    spec = load_spec()
    out = tmp_path / "out"
    build_dataset(spec, BuildOptions("dev", 0.01, "handoff", out, workers=2))
    state = out / ".synthgen"
    assert state.is_dir() and not (state / "arrivals").exists()


def test_only_the_biggest_shards_are_kept_within_the_budget(tmp_path: Path) -> None:
    plan = make_plan(load_spec(), "staging", 1.0, "handoff")
    kept = keep_paths(plan, tmp_path)
    sizes = {s.shard: int(s.piece_count.sum()) for s in plan.shard_slices}
    assert len(kept) > 0 and 13 * sum(sizes[k] for k in kept) <= 2 << 30
    assert min(sizes[k] for k in kept) >= max(
        (v for k, v in sizes.items() if k not in kept), default=0
    )
    assert keep_paths(plan, None) == {}
