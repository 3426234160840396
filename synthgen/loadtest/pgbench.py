"""One load step: pgbench at a client count, and the per-transaction statistics of its logs.

pgbench prints averages only, so each step runs with ``--log`` (one line per transaction:
client, transaction number, latency in microseconds, script number, completion time) and the
percentiles are computed here from those lines, per script, with NumPy.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from synthgen.errors import LoadTestError
from synthgen.loadtest.pgbouncer import raise_open_files
from synthgen.postgres.dsn import mask_dsn
from synthgen.postgres.server import find_server_binaries
from synthgen.progress import Tick
from synthgen.units import US_PER_SECOND

_GRACE_S = 60  # beyond --duration: connection set-up and the last transactions' end
_FAILED = re.compile(r"number of failed transactions:\s*(\d+)")
_PROCESSED = re.compile(r"number of transactions actually processed:\s*(\d+)")
_LAG = re.compile(r"rate limit schedule lag: avg ([\d.]+) \(max ([\d.]+)\) ms")
_ERROR = re.compile(r"(?:aborted|error|FATAL)", re.IGNORECASE)
_TICK_S = 0.5  # how often a running step reports its seconds


@dataclass(frozen=True)
class Script:
    """One pgbench script of the mix: its key (Q1, W1 ...), file and weight."""

    key: str
    path: Path
    weight: int


def find_pgbench() -> str:
    """pgbench from the server binaries (found as `synthgen postgres up` finds them)."""
    path = find_server_binaries().bindir / "pgbench"
    if not path.is_file():
        raise LoadTestError(f"{path}: pgbench is missing beside the server binaries")
    return str(path)


def run_step(
    pgbench: str,
    dsn: str,
    scripts: list[Script],
    clients: int,
    duration: int,
    log_dir: Path,
    rate: float | None = None,
    name: str | None = None,
    tick: Tick | None = None,
) -> dict[str, Any]:
    """Run pgbench for `duration` seconds at `clients` and summarise its transaction logs
    (named `name`, by default after the client count or the rate).

    With `rate` the load is open loop (pgbench -R: a Poisson schedule of transaction starts);
    each logged latency then runs from the scheduled start, so schedule lag is part of it, as
    pgbench reports it. `tick` hears the step's seconds every half second while it runs."""
    log_dir.mkdir(parents=True, exist_ok=True)
    name = (name or f"c{clients}") if not rate else f"{name or 'r'}{rate:g}"
    prefix = log_dir / name
    for old in log_dir.glob(f"{name}.*"):
        old.unlink()
    threads = max(1, min(clients, os.cpu_count() or 1))
    args = [
        pgbench, "-n", "-M", "extended", "-c", str(clients), "-j", str(threads),
        "-T", str(duration), "--log", f"--log-prefix={prefix}",
    ]  # fmt: skip
    if rate:
        args += ["-R", f"{rate:g}"]
    for script in scripts:
        args += ["-f", f"{script.path}@{script.weight}"]
    raise_open_files()
    env = {k: v for k, v in os.environ.items() if k not in ("PGOPTIONS", "PGSERVICE")}
    label = f"{rate:g} tx/s offered" if rate else f"{clients} clients"
    proc = _run([*args, dsn], env, duration, label, tick)
    out = (proc.stdout + "\n" + proc.stderr).replace(dsn, mask_dsn(dsn))
    failed = int(m[1]) if (m := _FAILED.search(proc.stdout)) else 0
    aborted = proc.stderr.count("aborted in command")
    errors = [ln.strip() for ln in proc.stderr.splitlines() if _ERROR.search(ln)]
    if proc.returncode not in (0, 2) or (proc.returncode == 2 and not aborted):
        raise LoadTestError(
            f"pgbench at {clients} clients failed (exit {proc.returncode}): "
            f"{(errors or out.strip().splitlines() or ['no output'])[-1]}"
        )
    step = summarise_logs(sorted(log_dir.glob(f"{name}.*")), [s.key for s in scripts])
    step.update(
        clients=clients,
        threads=threads,
        duration_s=duration,
        failed=failed,
        aborted_clients=aborted,
        errors=failed + aborted,
        error_sample=errors[0].replace(dsn, mask_dsn(dsn)) if errors else None,
    )
    # throughput over the requested duration: pgbench -T measures exactly that window
    seconds = float(duration)
    step["tps"] = step["transactions"] / seconds
    for stats in step["queries"].values():
        stats["tps"] = stats["transactions"] / seconds
    if rate:
        step.update(_offered(rate, seconds, proc.stdout))
    return step


def _run(
    args: list[str], env: dict[str, str], duration: int, label: str, tick: Tick | None
) -> subprocess.CompletedProcess[str]:
    """pgbench to its end (killed `_GRACE_S` after its duration), ticking its seconds."""
    started = time.monotonic()
    with subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        while True:
            elapsed = time.monotonic() - started
            if tick is not None:
                tick(label, min(elapsed, float(duration)), float(duration))
            try:
                out, err = proc.communicate(timeout=_TICK_S if tick else duration + _GRACE_S)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() - started > duration + _GRACE_S:
                    proc.kill()
                    proc.communicate()
                    raise LoadTestError(
                        f"pgbench at {label} did not stop within {duration + _GRACE_S} s; killed"
                    ) from None
    if tick is not None:
        tick(label, float(duration), float(duration))
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def _offered(rate: float, seconds: float, stdout: str) -> dict[str, Any]:
    """The offered rate beside what pgbench itself counted, and its schedule lag."""
    processed = int(m[1]) if (m := _PROCESSED.search(stdout)) else 0
    lag = _LAG.search(stdout)
    achieved = processed / seconds
    return {
        "offered_tps": rate,
        "pgbench_processed": processed,
        "achieved_tps": achieved,
        "achieved_share": achieved / rate,
        "lag_avg_ms": float(lag[1]) if lag else None,
        "lag_max_ms": float(lag[2]) if lag else None,
    }


def _read_log(path: Path) -> pa.Table:
    opts = pacsv.ReadOptions(autogenerate_column_names=True)
    parse = pacsv.ParseOptions(delimiter=" ")
    convert = pacsv.ConvertOptions(column_types={"f2": pa.string()})
    return pacsv.read_csv(path, read_options=opts, parse_options=parse, convert_options=convert)


@dataclass(frozen=True)
class Logged:
    """The transactions of pgbench --log files, one element each."""

    script: np.ndarray  # the script's number (its index in the run's scripts)
    end_s: np.ndarray  # when it ended, epoch seconds
    micros: np.ndarray  # its latency in µs; 0 where it failed
    ok: np.ndarray  # False where it failed (the log says "failed" where the latency goes)


def read_logs(paths: list[Path]) -> Logged | None:
    """The transactions pgbench logged in `paths`; None when it logged none."""
    tables = [_read_log(p) for p in paths if p.stat().st_size > 0]
    if not tables:
        return None
    latency = pa.concat_arrays([t.column("f2").combine_chunks() for t in tables])
    numeric = pc.utf8_is_numeric(latency)
    ok = np.asarray(numeric.to_numpy(zero_copy_only=False), dtype=bool)
    micros = np.zeros(len(latency))
    micros[ok] = np.asarray(pc.cast(pc.filter(latency, numeric), pa.float64()))
    script = np.concatenate([t.column("f3").to_numpy() for t in tables]).astype(np.int64)
    ends = np.concatenate(
        [t.column("f4").to_numpy() + t.column("f5").to_numpy() / US_PER_SECOND for t in tables]
    )
    return Logged(script, ends, micros, ok)


def summarise_logs(paths: list[Path], keys: list[str]) -> dict[str, Any]:
    """Transactions, span and per-script p50/p95/p99/max (ms) from pgbench's --log files."""
    logged = read_logs(paths)
    if logged is None:
        return {"transactions": 0, "span_s": 0.0, "queries": {}, "failed_logged": 0,
                "p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0}  # fmt: skip
    script, ends, micros, ok = logged.script, logged.end_s, logged.micros, logged.ok
    span = float(ends.max() - ends.min()) if len(ends) > 1 else 0.0
    queries: dict[str, Any] = {}
    total = int(ok.sum())
    for number, key in enumerate(keys):
        mine = ok & (script == number)
        ms = micros[mine] / 1000.0
        if not len(ms):
            queries[key] = {"transactions": 0}
            continue
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        queries[key] = {
            "transactions": len(ms),
            "share": len(ms) / total if total else 0.0,
            "p50_ms": float(p50),
            "p95_ms": float(p95),
            "p99_ms": float(p99),
            "max_ms": float(ms.max()),
            "mean_ms": float(ms.mean()),
        }
    all_ms = micros[ok] / 1000.0
    overall = np.percentile(all_ms, [50, 95, 99]) if len(all_ms) else [0.0, 0.0, 0.0]
    return {
        "transactions": total,
        "failed_logged": int((~ok).sum()),
        "span_s": span,
        "p50_ms": float(overall[0]),
        "p95_ms": float(overall[1]),
        "p99_ms": float(overall[2]),
        "queries": queries,
    }
