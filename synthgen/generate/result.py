"""What a message shard leaves behind: its result, and the fold of every result into the
dataset-wide figures (per-conversation, per-member and per-user maxima, two histograms).

Results are small and are folded as they arrive, so the parent never holds every shard's arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from synthgen.generate.blueprint import Plan
from synthgen.generate.write import WrittenFile

LOG2_BINS = 40


@dataclass
class ShardResult:
    shard: int
    files: list[WrittenFile]
    messages: int
    seconds: float
    conv_first: int
    conv_last_message_us: np.ndarray
    member_first: int
    member_last_read_us: np.ndarray
    active_users: np.ndarray
    user_last_active_us: np.ndarray
    content_length_hist: np.ndarray
    gap_hist: np.ndarray
    resumed: bool = False


# the result's arrays, saved beside its done-record for resume
RESULT_ARRAYS = (
    "conv_last_message_us",
    "member_last_read_us",
    "active_users",
    "user_last_active_us",
    "content_length_hist",
    "gap_hist",
)


def log2_hist(values: np.ndarray) -> np.ndarray:
    """Counts of values in bins [2**k, 2**(k+1)), k = 0..LOG2_BINS-1 (values < 1 go in bin 0)."""
    bins = np.clip(np.floor(np.log2(np.maximum(values, 1))).astype(np.int64), 0, LOG2_BINS - 1)
    return np.bincount(bins, minlength=LOG2_BINS)


@dataclass
class Folded:
    """Shard results folded into dataset-wide maxima and histograms as they arrive."""

    conv_last_message_us: np.ndarray
    member_last_read_us: np.ndarray
    user_last_active_us: np.ndarray
    content_length_hist: np.ndarray
    gap_hist: np.ndarray
    files: dict[int, list[WrittenFile]] = field(default_factory=dict)
    messages: int = 0
    resumed: int = 0

    @classmethod
    def empty(cls, plan: Plan) -> Folded:
        sk = plan.skeleton
        return cls(
            conv_last_message_us=np.zeros(len(sk.conv_kind), dtype=np.int64),
            member_last_read_us=np.zeros(len(sk.member_user), dtype=np.int64),
            user_last_active_us=np.zeros(len(sk.user_created_us), dtype=np.int64),
            content_length_hist=np.zeros(LOG2_BINS, dtype=np.int64),
            gap_hist=np.zeros(LOG2_BINS, dtype=np.int64),
        )

    def add(self, r: ShardResult) -> None:
        span = slice(r.conv_first, r.conv_first + len(r.conv_last_message_us))
        np.maximum(
            self.conv_last_message_us[span],
            r.conv_last_message_us,
            out=self.conv_last_message_us[span],
        )
        mspan = slice(r.member_first, r.member_first + len(r.member_last_read_us))
        np.maximum(
            self.member_last_read_us[mspan],
            r.member_last_read_us,
            out=self.member_last_read_us[mspan],
        )
        np.maximum.at(self.user_last_active_us, r.active_users, r.user_last_active_us)
        self.content_length_hist += r.content_length_hist
        self.gap_hist += r.gap_hist
        self.files[r.shard] = r.files
        self.messages += r.messages
        self.resumed += int(r.resumed)
