"""The capped rooms' latest reads drawn by count and window against a walk of every pair.

The walk here is the reference: every (message, member) pair reads with the read rate, its
delay from the spec's mixture sampler (`receipt_delays_us`), its read kept if by the snapshot,
and a member's latest read is the maximum. The draw under test must give the same law: compared
by two-sample Kolmogorov-Smirnov statistics over many seeds, per member class.
"""

from __future__ import annotations

import numpy as np
import pytest

from synthgen.engine.delay_window import delay_table
from synthgen.engine.latest_read import ReaderView, latest_reads
from synthgen.engine.receipts import receipt_delays_us
from synthgen.spec import load_spec

DAY_US = 86_400 * 1_000_000
SNAPSHOT = 400 * DAY_US
# KS critical value factor at alpha = 0.001: D > 1.95 * sqrt(2 / n) for two samples of n
KS_001 = 1.95
# the world has ~130 k pairs: a first chunk of 3 000 leaves ~7 later chunks drawn by count and
# window (the production first chunk would hold them all)
FIRST_CHUNK = 3_000


def _room(rng: np.random.Generator, members: int, messages: int, days: float) -> dict:
    """One room: members joining over the first half of its span, messages spread over `days`
    before the snapshot and bunched at its end, each by a member who had joined by then."""
    join = np.sort(rng.uniform(SNAPSHOT - days * DAY_US, SNAPSHOT - days * DAY_US / 2, members))
    join[0] = SNAPSHOT - days * DAY_US
    created = np.sort(SNAPSHOT - days * DAY_US * rng.beta(0.6, 2.0, messages)).astype(np.int64)
    eligible = np.searchsorted(join, created, side="right").astype(np.int64)
    sender = (rng.random(messages) * eligible).astype(np.int64)
    return {"created": created, "eligible": eligible, "sender": sender}


def _world(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Three rooms (busy and recent, sparse and old, mid), as one shard's arrays."""
    rng = np.random.default_rng(seed)
    rooms = [_room(rng, 40, 3000, 2.0), _room(rng, 25, 60, 45.0), _room(rng, 30, 400, 10.0)]
    offsets = np.cumsum([0, 40, 25, 30]).astype(np.int64)
    local_conv = np.concatenate([np.full(len(r["created"]), i) for i, r in enumerate(rooms)])
    created = np.concatenate([r["created"] for r in rooms])
    eligible = np.concatenate([r["eligible"] for r in rooms])
    sender_row = np.concatenate([offsets[i] + r["sender"] for i, r in enumerate(rooms)])
    order = np.argsort(created, kind="stable")
    return offsets, local_conv[order], created[order], eligible[order], sender_row[order]


def _walk(rng: np.random.Generator, spec, world) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The reference: every pair drawn."""
    offsets, local_conv, created, eligible, sender_row = world
    first = offsets[:-1][local_conv]
    readers = np.maximum(eligible - 1, 0)
    msg = np.repeat(np.arange(len(created)), readers)
    k = np.arange(len(msg)) - np.repeat(np.cumsum(readers) - readers, readers)
    k += k >= (sender_row - first)[msg]
    member = first[msg] + k
    read = np.flatnonzero(rng.random(len(msg)) < spec.read_receipts.read_rate)
    delay, _ = receipt_delays_us(rng, spec, len(read))
    read_us = created[msg[read]] + delay
    landed = read_us <= SNAPSHOT
    last = np.zeros(int(offsets[-1]), dtype=np.int64)
    np.maximum.at(last, member[read][landed], read_us[landed])
    return last


def _drawn(rng: np.random.Generator, spec, world) -> np.ndarray:  # type: ignore[no-untyped-def]
    offsets, local_conv, created, eligible, sender_row = world
    view = ReaderView(
        offsets, local_conv, created, eligible, sender_row, spec.read_receipts.read_rate, SNAPSHOT
    )
    last = np.zeros(int(offsets[-1]), dtype=np.int64)
    rows = np.flatnonzero(np.maximum(eligible - 1, 0) > 0)[::-1]
    table = delay_table(spec.read_receipts.delay_mixture)
    latest_reads(rng, table, view, rows, last, first_chunk=FIRST_CHUNK)
    return last


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.sort(a), np.sort(b)
    both = np.concatenate([a, b])
    fa = np.searchsorted(a, both, side="right") / len(a)
    fb = np.searchsorted(b, both, side="right") / len(b)
    return float(np.abs(fa - fb).max())


@pytest.fixture(scope="module")
def samples() -> tuple[np.ndarray, np.ndarray]:
    spec = load_spec()
    world = _world(7)
    walk = np.stack([_walk(np.random.default_rng(1000 + i), spec, world) for i in range(300)])
    drawn = np.stack([_drawn(np.random.default_rng(5000 + i), spec, world) for i in range(300)])
    return walk, drawn


def test_each_members_latest_read_has_the_walks_law(samples) -> None:  # type: ignore[no-untyped-def]
    walk, drawn = samples
    n = walk.shape[0]
    worst = max(_ks(walk[:, j], drawn[:, j]) for j in range(walk.shape[1]))
    # 95 members tested at alpha 0.001 each: a false alarm has a chance under 10 %, and the
    # seeds are fixed; a wrong law (e.g. a window a second too narrow) moves D far past it
    assert worst < KS_001 * np.sqrt(2 / n), worst
    # no read lands after the snapshot, none before its member could read
    assert drawn.max() <= SNAPSHOT


def test_pooled_ages_and_members_without_a_read_match(samples) -> None:  # type: ignore[no-untyped-def]
    walk, drawn = samples
    for j0, j1 in ((0, 40), (40, 65), (65, 95)):  # room by room
        w, d = walk[:, j0:j1].ravel(), drawn[:, j0:j1].ravel()
        assert abs((w == 0).mean() - (d == 0).mean()) < 0.02
        assert _ks(w, d) < KS_001 * np.sqrt(2 / len(w)), (j0, _ks(w, d))


def test_the_window_draw_has_the_mixtures_law_given_the_window() -> None:
    spec = load_spec()
    table = delay_table(spec.read_receipts.delay_mixture)
    rng = np.random.default_rng(3)
    free, _ = receipt_delays_us(rng, spec, 2_000_000)
    for lo_s, hi_s in ((0.0, 10.0), (20.0, 4000.0), (3000.0, 90_000.0), (200_000.0, 2.0e6)):
        g, h = table.cells(np.asarray([lo_s]), np.asarray([hi_s]))
        lo_e, hi_e = table.edges[g[0]], table.edges[h[0]]
        assert lo_e <= max(lo_s, table.edges[0]) and hi_e >= hi_s  # no delay below edges[0]
        seconds = free / 1e6
        inside = seconds[(seconds >= lo_e) & (seconds < hi_e)]
        # the window's mass is the share of free draws in it
        assert abs(table.mass(g, h)[0] - len(inside) / len(free)) < 4e-3
        drawn = table.draw(rng, np.full(20_000, g[0]), np.full(20_000, h[0]))
        assert drawn.min() >= lo_e and drawn.max() <= hi_e
        crit = KS_001 * np.sqrt(1 / len(inside) + 1 / len(drawn))
        assert _ks(inside, drawn) < crit, (lo_s, hi_s)
