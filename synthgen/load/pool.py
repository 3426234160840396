"""Run work over several connections at once: one thread and one connection per job.

Threads are enough: the ADBC driver releases the GIL while it streams COPY data and while it
waits on the server, and the Parquet decoding and Arrow casts it pulls from release it too.
Connections are opened once per load and reused by every step (opening one costs ~0.1 s: the
driver reads the server's type catalog).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TypeVar

from synthgen.postgres.connect import Connection, connect, execute

Item = TypeVar("Item")
Result = TypeVar("Result")

# Per-session settings for the loader's own connections. An asynchronous commit is safe here:
# a shard's rows and its audit record share one transaction, so a server crash loses both or
# neither, and --resume reloads what was lost.
SESSION_SQL = ("SET synchronous_commit = off",)


class Pool:
    """`size` transactional connections (autocommit off), opened on first use, closed together."""

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn = dsn
        self.size = max(1, size)
        self._conns: list[Connection | None] = [None] * self.size
        self.abandoned = False

    def get(self, index: int) -> Connection:
        """Connection number `index`, opened (with the session settings) if needed."""
        conn = self._conns[index]
        if conn is None:
            conn = connect(self.dsn)
            for sql in SESSION_SQL:
                execute(conn, sql)
            conn.commit()
            self._conns[index] = conn
        return conn

    def close(self) -> None:
        """Close every connection, unless threads may still use them (after Ctrl-C): then the
        process exit closes them, and the server rolls their transactions back."""
        if self.abandoned:
            return
        for index, conn in enumerate(self._conns):
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
            self._conns[index] = None

    def __enter__(self) -> Pool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def run_parallel(
    pool: Pool,
    items: Sequence[Item],
    work: Callable[[Connection, Item], Result],
    jobs: int | None = None,
) -> list[Result]:
    """Run ``work(conn, item)`` for every item over up to `jobs` pooled connections.

    `work` commits or rolls back its own transaction. Items start in the order given (put the
    biggest first). After the first failure no new item starts; once the running ones finish,
    that first error is raised. Results come back in item order.
    """
    if not items:
        return []
    todo: queue.Queue[tuple[int, Item]] = queue.Queue()
    for index, item in enumerate(items):
        todo.put((index, item))
    results: dict[int, Result] = {}
    errors: list[BaseException] = []
    stop = threading.Event()

    def worker(number: int) -> None:
        try:
            conn = pool.get(number)
            while not stop.is_set():
                try:
                    index, item = todo.get_nowait()
                except queue.Empty:
                    return
                results[index] = work(conn, item)
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    count = max(1, min(jobs or pool.size, pool.size, len(items)))
    threads = [
        threading.Thread(target=worker, args=(n,), name=f"synthgen-load-{n}", daemon=True)
        for n in range(count)
    ]
    run_threads(pool, threads, stop, errors)
    return [results[i] for i in range(len(items))]


def run_ready(
    pool: Pool,
    items: Sequence[Item],
    work: Callable[[Connection, Item], Result],
    needs: Sequence[frozenset[int]],
) -> list[Result]:
    """Like `run_parallel`, but item ``i`` starts only once every item in ``needs[i]`` (indexes
    into `items`) has finished. A free connection takes the first item, in the order given,
    whose needs are met: a ready item never waits behind one that is not, so a step of one
    table starts as soon as that table's previous step is done, not when every table's is.
    """
    if len(needs) != len(items):
        raise ValueError("one set of needs per item")
    if not items:
        return []
    pending = list(range(len(items)))
    finished: set[int] = set()
    running = [0]
    results: dict[int, Result] = {}
    errors: list[BaseException] = []
    stop = threading.Event()
    turn = threading.Condition()

    def take() -> int | None:
        with turn:
            while not stop.is_set() and pending:
                for at, index in enumerate(pending):
                    if needs[index] <= finished:
                        running[0] += 1
                        return pending.pop(at)
                if running[0] == 0:
                    raise ValueError(f"items {pending} need items that never run")
                turn.wait(timeout=0.1)
            return None

    def worker(number: int) -> None:
        try:
            conn = pool.get(number)
            while (index := take()) is not None:
                done = False
                try:
                    results[index] = work(conn, items[index])
                    done = True
                finally:
                    with turn:
                        running[0] -= 1
                        if done:
                            finished.add(index)
                        turn.notify_all()
        except BaseException as exc:
            errors.append(exc)
            stop.set()
            with turn:
                turn.notify_all()

    count = max(1, min(pool.size, len(items)))
    threads = [
        threading.Thread(target=worker, args=(n,), name=f"synthgen-load-{n}", daemon=True)
        for n in range(count)
    ]
    run_threads(pool, threads, stop, errors)
    return [results[i] for i in range(len(items))]


def run_threads(
    pool: Pool,
    threads: Sequence[threading.Thread],
    stop: threading.Event,
    errors: list[BaseException],
) -> None:
    """Start `threads`, wait for all, then raise the first error they recorded. On Ctrl-C set
    `stop` (start nothing new) and abandon the pool's connections: their open transactions die
    with the process."""
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:
        stop.set()
        pool.abandoned = True
        raise
    if errors:
        raise errors[0]


def run_statements(conn: Connection, statements: Sequence[str]) -> None:
    """Run statements in one transaction on a pooled connection; roll back on failure."""
    try:
        for sql in statements:
            execute(conn, sql)
        conn.commit()
    except BaseException:
        with contextlib.suppress(Exception):
            conn.rollback()
        raise
