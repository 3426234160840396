"""Late receipts: reads, after the seam, of messages sent before it. NumPy only, no I/O.

A dataset drops every read that would land after its snapshot, so a member of a room that writes
receipt rows who has no receipt for a message either never reads it (chance 1 - read_rate) or
reads it after the seam. Each such pair is drawn from exactly that posterior by rejection: draw
(read?, delay) from the spec's model until the draw agrees with what the data says (not read,
or read later than the seam); a read inside the extension is written. Only messages of the last
LATE_LOOKBACK_SECONDS before the seam are considered (the `delayed` component's default
maximum): the `stale` tail's reads of older messages are not drawn, which bounds the work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from synthgen.engine.receipts import receipt_delays_us
from synthgen.spec import Spec

I64 = NDArray[np.int64]
LATE_LOOKBACK_SECONDS = 259_200  # 3 days
MAX_ROUNDS = 200


@dataclass(frozen=True)
class OldMessages:
    """Messages from before the seam: id, conversation index, sender user index, createdAt."""

    id: I64
    conv: I64
    sender: I64
    created_us: I64


@dataclass(frozen=True)
class LateReads:
    message: I64  # message id
    member_row: I64  # row of Members (extension_day.Members)
    read_us: I64
    component: NDArray[np.int8]


def late_reads(
    spec: Spec,
    rng: np.random.Generator,
    old: OldMessages,
    member_offsets: I64,
    member_user: I64,
    member_joined_us: I64,
    member_left_us: I64,
    read_keys: I64,
    span: tuple[int, int],
) -> LateReads:
    """Late reads of `old` inside `span` (seam, end) by members with no receipt yet (`read_keys`:
    sorted message id x 2**31 + user id of the receipts there are)."""
    r = spec.read_receipts
    cap = r.per_member_max_members or np.iinfo(np.int64).max
    sizes = np.diff(member_offsets)[old.conv]
    count = np.where((sizes <= cap) & (r.per == "member"), sizes, 0)
    msg = np.repeat(np.arange(len(old.id)), count)
    row = member_offsets[old.conv][msg] + (
        np.arange(len(msg), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    )
    user = member_user[row]
    keys = old.id[msg] * (1 << 31) + user + 1
    at = np.searchsorted(read_keys, keys)
    seen = (at < len(read_keys)) & (read_keys[np.minimum(at, max(len(read_keys) - 1, 0))] == keys)
    ok = (
        (member_joined_us[row] <= old.created_us[msg])
        & (user != old.sender[msg])
        & ~(seen if len(read_keys) else np.zeros(len(keys), dtype=bool))
    )
    msg, row = msg[ok], row[ok]
    created = old.created_us[msg]
    read, delay, component = _posterior(spec, rng, span[0] - created)
    read_us = created + delay
    keep = np.flatnonzero(read & (read_us < span[1]) & (read_us < member_left_us[row]))
    return LateReads(old.id[msg[keep]], row[keep], read_us[keep], component[keep])


def _posterior(
    spec: Spec, rng: np.random.Generator, age_us: I64
) -> tuple[NDArray[np.bool_], I64, NDArray[np.int8]]:
    """(read?, delay, component) per pair, given that no read landed within `age_us`."""
    n = len(age_us)
    read = np.zeros(n, dtype=bool)
    delay = np.zeros(n, dtype=np.int64)
    component = np.zeros(n, dtype=np.int8)
    pending = np.arange(n)
    for _ in range(MAX_ROUNDS):  # rounds, not rows: each accepts >= 1 - read_rate of the rest
        if len(pending) == 0:
            break
        drawn_read = rng.random(len(pending)) < spec.read_receipts.read_rate
        drawn_delay, drawn_component = receipt_delays_us(rng, spec, len(pending))
        agree = ~drawn_read | (drawn_delay > age_us[pending])
        done = pending[agree]
        read[done] = drawn_read[agree]
        delay[done] = drawn_delay[agree]
        component[done] = drawn_component[agree]
        pending = pending[~agree]
    return read, delay, component
