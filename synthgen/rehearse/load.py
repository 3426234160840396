"""The rehearsal's workload: one pgbench run in a background thread, and its per-second view.

The run is the load test's own step (`synthgen.loadtest.pgbench.run_step`, which stops by itself
after its duration), started in a thread so the script runs while it goes on. Its per-transaction
logs give each second's p50/p95/p99 per script and the failed transactions; with ``-R`` pgbench
measures latency from each transaction's scheduled start, so a queue behind a lock shows in full.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthgen.errors import LoadTestError
from synthgen.loadtest.pgbench import Script, find_pgbench, read_logs, run_step

SEGMENT_S = 5  # pgbench runs back to back in segments this long, so the load can end early
TAIL_S = 3  # load kept on after the script, to show the recovery


@dataclass
class Load:
    """pgbench going on in a thread, `seconds` at most after `started` (epoch s).

    It runs as back-to-back pgbench segments of SEGMENT_S seconds (each the load test's own
    step, which stops by itself), so that `finish()` ends it a few seconds after the script
    instead of at the cap. Between segments the clients reconnect (tens of milliseconds); with
    ``-R`` each segment starts its schedule afresh, so a queue longer than a segment is seen
    as a run of slow segments rather than one."""

    dsn: str
    scripts: list[Script]
    clients: int
    seconds: int
    log_dir: Path
    rate: float | None
    started: float = 0.0
    ended: float = 0.0
    steps: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None
    _stop_at: float = float("inf")
    _thread: threading.Thread | None = None

    def _work(self) -> None:
        pgbench = find_pgbench()
        try:
            while True:
                left = min(self.started + self.seconds, self._stop_at) - time.time()
                if left < 1:
                    break
                segment = self.log_dir / f"s{len(self.steps):03d}"
                self.steps.append(
                    run_step(pgbench, self.dsn, self.scripts, self.clients,
                             int(min(SEGMENT_S, left)), segment, self.rate, name="load")
                )  # fmt: skip
        except BaseException as exc:  # re-raised by wait()
            self.error = exc
        self.ended = time.time()

    def start(self) -> None:
        self.started = time.time()
        self._thread = threading.Thread(target=self._work, name="rehearse-load", daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def finish(self, tail: float = TAIL_S) -> None:
        """Start no segment later than `tail` seconds from now."""
        self._stop_at = time.time() + tail

    def wait(self) -> dict[str, Any]:
        """Wait for the last segment to stop by itself (its -T); the segments summed up."""
        if self._thread is not None:
            self._thread.join()
        if self.error is not None:
            raise self.error
        samples = [s["error_sample"] for s in self.steps if s.get("error_sample")]
        return {
            "segments": len(self.steps),
            "transactions": sum(s["transactions"] for s in self.steps),
            "errors": sum(s["errors"] for s in self.steps),
            "error_sample": samples[0] if samples else None,
        }

    def log_paths(self) -> list[Path]:
        # run_step names a segment's logs "load" (closed loop) or "load<rate>" (pgbench -R)
        return sorted(self.log_dir.glob("s*/load*.*"))


def read_transactions(paths: list[Path], keys: list[str]) -> dict[str, np.ndarray]:
    """Every logged transaction: its script key index, end (epoch s), latency (ms), failed."""
    logged = read_logs(paths)
    if logged is None:
        raise LoadTestError("the rehearsal's workload logged no transaction")
    script, end, ok = logged.script, logged.end_s, logged.ok
    ms = logged.micros / 1000.0
    order = np.argsort(end, kind="stable")
    return {"script": script[order], "end": end[order], "ms": ms[order], "failed": ~ok[order]}


def percentiles(ms: np.ndarray) -> dict[str, Any]:
    if not len(ms):
        return {"transactions": 0}
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {
        "transactions": len(ms),
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "p99_ms": float(p99),
        "max_ms": float(ms.max()),
    }


def per_second(tx: dict[str, np.ndarray], keys: list[str], t0: float) -> list[dict[str, Any]]:
    """One row per second since `t0`: per script p50/p95/p99 and the failed transactions."""
    second = np.floor(tx["end"] - t0).astype(np.int64)
    rows: list[dict[str, Any]] = []
    # one group per (second, script): a few hundred groups, never a loop over transactions
    for s in np.unique(second[second >= 0]):
        here = second == s
        row: dict[str, Any] = {"second": int(s), "errors": int(tx["failed"][here].sum())}
        for number, key in enumerate(keys):
            mine = here & (tx["script"] == number) & ~tx["failed"]
            row[key] = percentiles(tx["ms"][mine])
        rows.append(row)
    return rows


def window(tx: dict[str, np.ndarray], keys: list[str], lo: float, hi: float) -> dict[str, Any]:
    """Per script: the transactions that were running at some time in [lo, hi] (epoch s)."""
    start = tx["end"] - tx["ms"] / 1000.0
    inside = (tx["end"] >= lo) & (start <= hi) & ~tx["failed"]
    out: dict[str, Any] = {
        key: percentiles(tx["ms"][inside & (tx["script"] == n)]) for n, key in enumerate(keys)
    }
    out["errors"] = int((tx["failed"] & (tx["end"] >= lo) & (start <= hi)).sum())
    return out


def baseline_rate(tx: dict[str, np.ndarray], lo: float, hi: float) -> float:
    """Transactions per second that ended in [lo, hi] (the settle's throughput)."""
    done = (tx["end"] >= lo) & (tx["end"] <= hi)
    return float(done.sum()) / max(hi - lo, 1e-3)
