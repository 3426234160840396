"""The extension's arrivals stay inside the extension: a member who would join a new room after
its end is left to a later one (found at the dev band: a room opened in the last minutes)."""

from __future__ import annotations

import json

import numpy as np

from synthgen.engine.extension import World, draw_arrivals
from synthgen.engine.streams import stream
from synthgen.engine.timemodel import IntensityGrid
from synthgen.spec import DEFAULT_SPEC_PATH, parse_spec
from synthgen.units import US_PER_DAY


def test_new_members_join_before_the_end() -> None:
    raw = json.loads(DEFAULT_SPEC_PATH.read_text())
    raw["conversations"]["joining"]["second_member_within_seconds"] = 2 * 86_400  # past the end
    spec = parse_spec(raw)
    grid = IntensityGrid.build(spec.time)
    end = spec.time.snapshot_us
    users = 200
    world = World(
        user_created_us=np.sort(end - 30 * US_PER_DAY + np.arange(users, dtype=np.int64)),
        conv_kind=np.array([1, 2], dtype=np.int64),
        conv_rate=np.array([1.0, 1.0]),
        conv_heavy=np.zeros(2, dtype=bool),
        member_conv=np.array([0, 0, 0, 1, 1, 1], dtype=np.int64),
        member_user=np.array([0, 1, 2, 3, 4, 5], dtype=np.int64),
        member_role=np.array([0, 2, 2, 0, 2, 2], dtype=np.int64),
        member_active=np.ones(6, dtype=bool),
    )
    window = (end - US_PER_DAY, end)
    arrivals = draw_arrivals(spec, stream("t", "arrivals"), grid, window, (5.0, 40.0), world)
    assert len(arrivals.room_created_us) > 10
    assert len(arrivals.member_joined_us) > len(arrivals.room_created_us)  # creators at least
    assert arrivals.member_joined_us.max() < end
    assert arrivals.member_joined_us.min() >= window[0]
    # every new room keeps its creator: it joined when the room opened
    creators = np.isin(arrivals.room_created_us, arrivals.member_joined_us)
    assert creators.all()
