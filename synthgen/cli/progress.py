"""A progress line on stderr for the step under way (a load's rows, a load-test step's
seconds, an index build's share): shown from the step's first report on, so a command refused
before it has anything to count prints its error and no bar."""

from __future__ import annotations

from types import TracebackType
from typing import Any


class StepBar:
    """`bar(label, done, total, unit)` reports a step; a new label is a new line. `total` None:
    the step's size is not known yet. Implements synthgen.progress.Ticker."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._bar: Any = None
        self._task: Any = None
        self._label: str | None = None

    def __call__(self, label: str, done: float, total: float | None, unit: str = "s") -> None:
        if self.quiet:
            return
        if self._bar is None:
            self._bar = self._make()
            self._bar.start()
        if label != self._label:
            if self._task is not None:  # the earlier step ended: its line shows it done
                finished = self._bar.tasks[-1].total
                if finished is not None:
                    self._bar.update(self._task, completed=finished)
            self._task = self._bar.add_task(label, total=total, unit=unit)
            self._label = label
        self._bar.update(self._task, completed=done, total=total)

    def _make(self) -> Any:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )

    def stop(self) -> None:
        """End the display (idempotent); a later report starts a new one."""
        if self._bar is not None:
            self._bar.stop()
        self._bar, self._task, self._label = None, None, None

    def __enter__(self) -> StepBar:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
