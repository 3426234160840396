"""Run shard tasks. Local processes now; any executor that maps a pure function over tasks works.

Tasks carry everything they need and return small results, so the same function can run on a
Dask cluster unchanged. Output never depends on the number of workers or completion order.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Pool(Protocol):
    """What a build needs of an executor: a context manager that maps a function over tasks."""

    workers: int

    def __enter__(self) -> Pool: ...

    def __exit__(self, *exc: Any) -> None: ...

    def run(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[int, R]]: ...


def _leave_interrupt() -> None:
    """A worker leaves Ctrl-C to the parent, which cancels the tasks not started and exits 130
    once the running ones end (their shards are written whole or not at all). A worker the
    signal met while it waited for a task printed multiprocessing's traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalPool:
    """Worker processes, forked as soon as the pool opens.

    Open it before planning: the workers are then forked from a small parent, so they neither
    copy nor get charged for the skeleton the parent builds afterwards (fork, not spawn or
    forkserver, so a script that calls the library needs no `if __name__ == "__main__"` guard).
    workers == 1 runs tasks in this process.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalPool:
        if self.workers > 1:
            context = multiprocessing.get_context("fork")
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=context, initializer=_leave_interrupt
            )
            for future in [self._pool.submit(os.getpid) for _ in range(self.workers)]:
                future.result()  # fork every worker now
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def run(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[int, R]]:
        """Yield (task index, result) as tasks finish; at most 2 tasks per worker in flight."""
        if self._pool is None or len(tasks) <= 1:
            for index, task in enumerate(tasks):
                yield index, fn(task)
            return
        pool = self._pool
        pending: dict[Future[R], int] = {}
        queue = list(enumerate(tasks))
        queue.reverse()

        def top_up() -> None:
            while queue and len(pending) < 2 * self.workers:
                index, task = queue.pop()
                pending[pool.submit(fn, task)] = index

        top_up()
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    yield index, future.result()
                top_up()
        except BaseException:
            for future in pending:
                future.cancel()
            raise
