"""What a long step reports while it runs (drawn on stderr by synthgen.cli.progress)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

# a step under way: its label, how much is done and of how much (None: not known yet)
Tick = Callable[[str, float, float | None], None]


class Ticker(Protocol):
    """A Tick with a unit per step that can be told the work is over."""

    def __call__(self, label: str, done: float, total: float | None, unit: str = "s") -> None: ...

    def stop(self) -> None: ...


def index_ticks(tick: Ticker) -> Callable[[str, str, float | None], None]:
    """An index script's progress (index, phase, share done) as a Ticker's steps in %: one line
    per index and phase (PostgreSQL's pg_stat_progress_create_index)."""

    def show(index: str, phase: str, fraction: float | None) -> None:
        tick(f"{index}: {phase}", 100.0 * (fraction or 0.0), 100.0, "%")

    return show
