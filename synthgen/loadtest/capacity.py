"""Capacity and the offered rates: what a load test holds equal before and after a change.

A run's capacity is the highest throughput its closed-loop probes reached while every query's
p95 stayed under its SLO. Each query's SLO is given (`--slo Q4=400`) or derived from the
baseline: `SLO_FACTOR` times its p95 at the baseline's lightest step (one client, no queue),
never under `SLO_FLOOR_MS`. The latency steps then offer fixed rates (open loop, pgbench -R):
by default 25 %, 50 % and 80 % of the baseline's capacity, the same rates before and after.
"""

from __future__ import annotations

import math
from typing import Any

from synthgen.errors import LoadTestError

SLO_FACTOR = 5.0  # a query may be 5x slower than unloaded before it counts as over its SLO
# below this a p95 moves with the CPU queue (a 4 ms query behind 1 s ones), not with the load
SLO_FLOOR_MS = 50.0
DEFAULT_FRACTIONS = (0.25, 0.50, 0.80)
MIN_SAMPLES = 20  # transactions of a query at a rate, each side, to judge its p95 there
RATE_STEP_CAP = 6  # a rate step runs at most this many times --duration


def rate_step_seconds(rate: float, mix: dict[str, int], duration: int) -> int:
    """Seconds at an offered rate: --duration, longer (up to RATE_STEP_CAP x) so that the
    least-weighted script expects 1.5 x MIN_SAMPLES transactions (its p95 is then judged)."""
    share = min(mix.values()) / sum(mix.values())
    wanted = math.ceil(1.5 * MIN_SAMPLES / (rate * share))
    return max(duration, min(wanted, RATE_STEP_CAP * duration))


def parse_slo(text: str) -> dict[str, float]:
    """`Q1=50,Q4=400` (milliseconds) -> {"Q1": 50.0, "Q4": 400.0}; errors name the item."""
    slo: dict[str, float] = {}
    for item in (i.strip() for i in text.split(",") if i.strip()):
        key, sep, value = item.partition("=")
        try:
            ms = float(value)
        except ValueError:
            ms = -1.0
        if not sep or not key.strip() or not ms > 0:
            raise LoadTestError(f"--slo {item!r}: expected KEY=MILLISECONDS with a positive value")
        slo[key.strip().upper()] = ms
    if not slo:
        raise LoadTestError(f"--slo {text!r}: expected KEY=MILLISECONDS[,...]")
    return slo


def parse_numbers(text: str, flag: str, upper: float | None = None) -> list[float]:
    """A comma-separated list of positive numbers (at most `upper`), sorted; errors name `flag`."""
    try:
        values = sorted({float(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise LoadTestError(f"{flag} {text!r}: a comma-separated list of numbers") from None
    if not values or values[0] <= 0 or (upper is not None and values[-1] > upper):
        bound = f" and at most {upper:g}" if upper is not None else ""
        raise LoadTestError(f"{flag} {text!r}: every value must be above 0{bound}")
    return values


def derive_slo(
    steps: list[dict[str, Any]], given: dict[str, float] | None = None
) -> dict[str, dict[str, Any]]:
    """Per query: the SLO in ms and where it came from (given, or the lightest step's p95)."""
    lightest = min(steps, key=lambda s: s["clients"])
    slo: dict[str, dict[str, Any]] = {}
    for key, stats in sorted(lightest["queries"].items()):
        if given and key in given:
            slo[key] = {"ms": given[key], "source": "given"}
        elif stats.get("transactions"):
            ms = max(SLO_FACTOR * stats["p95_ms"], SLO_FLOOR_MS)
            slo[key] = {
                "ms": ms,
                "source": f"{SLO_FACTOR:g} x p95 {stats['p95_ms']:.2f} ms at "
                f"{lightest['clients']} client(s), at least {SLO_FLOOR_MS:g} ms",
            }
    unknown = sorted(set(given or {}) - set(slo))
    if unknown:
        raise LoadTestError(f"--slo {unknown[0]}: no such script ({', '.join(sorted(slo))})")
    return slo


def find_capacity(steps: list[dict[str, Any]], slo: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The highest step throughput at which every query's p95 stayed under its SLO."""
    best: dict[str, Any] | None = None
    first_miss = ""
    for step in steps:
        over = [
            f"{key} p95 {stats['p95_ms']:.1f} ms > SLO {slo[key]['ms']:.1f} ms"
            for key, stats in sorted(step["queries"].items())
            if key in slo and stats.get("transactions") and stats["p95_ms"] > slo[key]["ms"]
        ]
        if over or step.get("errors"):
            first_miss = first_miss or (
                f"at {_clients(step['clients'])} " + ", ".join(over or [f"{step['errors']} errors"])
            )
        elif best is None or step["tps"] > best["tps"]:
            best = step
    if best is None:
        return {"tps": 0.0, "clients": None, "reason": f"no step met every SLO ({first_miss})"}
    reason = f"{best['tps']:.1f} tx/s at {_clients(best['clients'])}, every p95 under its SLO"
    # no step missed: the sweep's largest client count bounds the figure, not the server
    reason += f"; beyond: {first_miss}" if first_miss else " (at least: no step missed an SLO)"
    return {"tps": float(best["tps"]), "clients": best["clients"], "reason": reason,
            "bounded_by_sweep": not first_miss}  # fmt: skip


def _clients(count: int) -> str:
    return f"{count} client" + ("" if count == 1 else "s")


def write_rate(top_rate: float, duration: int) -> float:
    """The rate a write is offered alone: the top mixed rate, or more so that `duration`
    seconds expect 4 x MIN_SAMPLES of it (a write costs little; its p95 needs samples)."""
    return float(f"{max(top_rate, 4 * MIN_SAMPLES / duration):.3g}")


def offered_rates(capacity_tps: float, fractions: tuple[float, ...]) -> list[dict[str, float]]:
    """The offered rates: each fraction of the baseline's capacity (tx/s, 3 significant)."""
    if capacity_tps <= 0:
        raise LoadTestError(
            "capacity 0: no step met every SLO, so there is no rate to offer; "
            "give --slo looser targets or --rate explicit rates"
        )
    return [{"fraction": f, "rate": float(f"{capacity_tps * f:.3g}")} for f in fractions]
