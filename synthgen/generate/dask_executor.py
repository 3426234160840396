"""Run shard tasks on a Dask cluster: the same `run(fn, tasks)` as the local pool.

Shard tasks are pure functions of their inputs (randomness keyed by seed, table and shard, never
by worker), so the files are byte-identical to the local executor's whatever the number of
workers, the order in which tasks finish, or a task that is retried after its worker died (Dask
reschedules it; a local write is renamed into place only when complete, an object-store upload
is a single atomic PUT, and the done-record comes last). `dask[distributed]` is an optional
dependency: it is imported only when this executor is chosen.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from synthgen.errors import DatasetError

T = TypeVar("T")
R = TypeVar("R")

INSTALL_HINT = "pip install 'synthgen[dask]'"
# The LocalCluster's workers: Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in every worker, which
# also turns off glibc's adaptive mmap threshold, so each large NumPy temporary is a fresh mmap and
# its page faults; with its statistical profiler on too, a shard task runs slower in a worker
# than in-process, and as fast without both (benchmarks/README.md, "Dask executor").
# A cluster of your own: start its workers with the same two settings (docs/scale-out.md).
LOCAL_WORKER_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
}


def dask_available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


class DaskPool:
    """A dask.distributed client: on `scheduler` (tcp://host:port), or on a LocalCluster of
    `workers` single-threaded processes on 127.0.0.1 when `scheduler` is "local"."""

    def __init__(self, scheduler: str, workers: int, announce: Callable[[str], None] | None = None):
        if not dask_available():
            raise DatasetError(f"--executor dask needs dask.distributed: {INSTALL_HINT}")
        self.scheduler = scheduler
        self.workers = workers
        self._announce = announce
        self._cluster: Any = None
        self._client: Any = None

    def __enter__(self) -> DaskPool:
        import dask
        from distributed import Client, LocalCluster

        dashboard = importlib.util.find_spec("bokeh") is not None
        try:
            if self.scheduler == "local":
                with dask.config.set(LOCAL_WORKER_CONFIG):
                    self._cluster = LocalCluster(
                        n_workers=self.workers,
                        threads_per_worker=1,  # a shard task is single-threaded NumPy and Arrow
                        processes=True,
                        host="127.0.0.1",
                        # a free loopback port: its HTTP server runs even without bokeh
                        dashboard_address="127.0.0.1:0",
                        silence_logs=logging.CRITICAL,  # task errors come back via futures
                    )
                self._client = Client(self._cluster)
            else:
                self._client = Client(self.scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            self.__exit__(None, None, None)
            raise DatasetError(f"--scheduler {self.scheduler}: cannot connect ({exc})") from None
        self.workers = max(1, self.threads())
        if self._announce is not None:
            link = self._client.dashboard_link if dashboard else None
            where = f"dashboard {link}" if link else "no dashboard (pip install bokeh for one)"
            self._announce(f"dask: {self.describe()} on {self.scheduler}; {where}")
        return self

    def describe(self) -> str:
        """The cluster's workers as they are: processes, and their threads when more."""
        info = self._client.scheduler_info().get("workers", {})
        processes, threads = len(info), self.threads()
        noun = "process" if processes == 1 else "processes"
        if threads == processes:
            return f"{processes} worker {noun} (one task at a time each)"
        return f"{processes} worker {noun} ({threads} threads in all, one task per thread)"

    def threads(self) -> int:
        """Worker threads the scheduler knows of now (each runs one task at a time)."""
        info = self._client.scheduler_info()
        return int(sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def __exit__(self, *exc: Any) -> None:
        # closing logs every worker's retirement at INFO: errors only, on the terminal we share
        names = [n for n in logging.root.manager.loggerDict if n.startswith("distributed")]
        levels = {n: logging.getLogger(n).level for n in names}
        for name in names:
            logging.getLogger(name).setLevel(logging.ERROR)
        try:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)

    def run(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[int, R]]:
        """Yield (task index, result) as tasks finish; at most 2 tasks per worker thread are
        submitted at a time, so the client holds few task inputs and results at once."""
        from distributed import as_completed

        client = self._client
        queue = list(enumerate(tasks))
        queue.reverse()
        pending: dict[str, tuple[int, Any]] = {}
        limit = 2 * max(1, self.workers)

        def submit() -> Any:
            index, task = queue.pop()
            # pure=False: never merged with another task; retries on top of the scheduler's
            # own rescheduling when a worker dies
            future = client.submit(fn, task, pure=False, retries=2)
            pending[future.key] = (index, future)
            return future

        running = as_completed([submit() for _ in range(min(limit, len(queue)))])
        try:
            for future in running:
                index, _ = pending.pop(future.key)
                try:
                    result = future.result()
                except DatasetError:
                    raise
                except Exception as exc:
                    if type(exc).__name__ == "KilledWorker":
                        raise DatasetError(
                            f"dask: task {index} lost its worker too often ({exc}); "
                            "see the workers' logs"
                        ) from None
                    raise
                future.release()
                yield index, result
                if queue:
                    running.add(submit())
        except BaseException:
            client.cancel([f for _, f in pending.values()])
            raise
