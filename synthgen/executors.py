"""Run shard tasks. Local processes now; any executor that maps a pure function over tasks works.

Tasks carry everything they need and return small results, so the same function can run on a
Dask cluster unchanged. Output never depends on the number of workers or completion order.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


def run_local(fn: Callable[[T], R], tasks: Sequence[T], workers: int) -> Iterator[tuple[int, R]]:
    """Yield (task index, result) as tasks finish. workers == 1 runs in this process."""
    if workers <= 1 or len(tasks) <= 1:
        for index, task in enumerate(tasks):
            yield index, fn(task)
        return
    # forkserver, not fork: a forked worker would carry (and be charged for) the parent's
    # whole skeleton; workers started from the small fork server hold only their own task
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context) as pool:
        pending: dict[Future[R], int] = {}
        queue = list(enumerate(tasks))
        queue.reverse()

        # keep at most 2 tasks per worker in flight: each task holds its slice in memory
        def top_up() -> None:
            while queue and len(pending) < 2 * workers:
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
