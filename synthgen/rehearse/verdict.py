"""The rehearsal's verdict, and its checks one by one (each becomes a JUnit test case).

GO when no statement blocked the workload longer than the threshold (default 1 s), each workload
script's p99 while the script ran stays within a factor (default 3x) of its p99 before it (a rise
of less than the floor, default 20 ms, never counts: sub-millisecond latencies triple on a busy
machine without anyone noticing), no statement failed, and no INVALID index is left. NO-GO
otherwise, naming the statement and what it blocked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synthgen.verdict import Verdict

MIN_TRANSACTIONS = 5  # fewer in a window: its p99 says nothing, the script is not judged on it


@dataclass(frozen=True)
class Limits:
    block_s: float = 1.0
    p99_factor: float = 3.0
    p99_floor_ms: float = 20.0

    def rule(self) -> str:
        return (
            f"GO when no statement blocks the workload longer than {self.block_s:g} s, each "
            f"workload script's p99 while the script runs stays within {self.p99_factor:g}x its "
            f"p99 before (rises under {self.p99_floor_ms:g} ms never count), no statement fails "
            "and no INVALID index is left"
        )


def _blocked_summary(blocked: list[dict[str, Any]]) -> str:
    by_script: dict[str, list[float]] = {}
    for entry in blocked:
        by_script.setdefault(entry["script"], []).append(entry["waited_s"])
    return ", ".join(
        f"{len(v)} {k} {'write' if k.startswith('W') else 'transaction'}"
        f"{'s' if len(v) > 1 else ''} up to {max(v):.2f} s"
        for k, v in sorted(by_script.items())
    )


def statement_check(st: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """One statement: failed, blocked the workload too long, or fine."""
    name = f"statement {st['number']}: {st['sql']}"
    if st.get("skipped"):
        return {"name": name, "ok": False, "message": "not run: an earlier statement failed"}
    if not st["ok"]:
        return {"name": name, "ok": False, "message": f"failed: {st['error']}"}
    worst = max((b["waited_s"] for b in st["blocked"]), default=0.0)
    if worst > limits.block_s:
        held = ", ".join(
            f"{lk['mode']} on {lk['relation']}"
            for lk in st["locks"]
            if lk["granted"] and lk["kind"] == "table"
        )
        return {
            "name": name,
            "ok": False,
            "seconds": st["seconds"],
            "message": f"held {held or 'its locks'} for {st['seconds']:.2f} s and blocked "
            f"{_blocked_summary(st['blocked'])} (threshold {limits.block_s:g} s)",
        }
    waited = max((w["seconds"] for w in st["waited_on"]), default=0.0)
    note = f"; waited {waited:.2f} s on other transactions" if waited >= 0.1 else ""
    return {
        "name": name,
        "ok": True,
        "seconds": st["seconds"],
        "message": f"{st['seconds']:.2f} s, longest workload wait {worst:.2f} s{note}",
    }


def latency_checks(
    baseline: dict[str, Any], during: dict[str, Any], limits: Limits
) -> list[dict[str, Any]]:
    """One check per workload script: p99 while the script ran against p99 before it."""
    checks = []
    for key in sorted(k for k in baseline if k != "errors"):
        before, now = baseline[key], during.get(key, {"transactions": 0})
        name = f"workload {key} p99"
        if before["transactions"] < MIN_TRANSACTIONS or now["transactions"] < MIN_TRANSACTIONS:
            checks.append(
                {
                    "name": name,
                    "ok": True,
                    "message": f"not judged: {before['transactions']} "
                    f"transactions before, {now['transactions']} during the script",
                }
            )
            continue
        ratio = now["p99_ms"] / before["p99_ms"] if before["p99_ms"] else 1.0
        bad = ratio > limits.p99_factor and now["p99_ms"] - before["p99_ms"] > limits.p99_floor_ms
        checks.append(
            {
                "name": name,
                "ok": not bad,
                "ratio": ratio,
                "message": f"{now['p99_ms']:.1f} ms during the script, {ratio:.1f}x its "
                f"{before['p99_ms']:.1f} ms before (limit {limits.p99_factor:g}x)",
            }
        )
    return checks


def judge(
    statements: list[dict[str, Any]],
    baseline: dict[str, Any],
    during: dict[str, Any],
    invalid: list[str],
    limits: Limits,
) -> dict[str, Any]:
    """The checks, the decision and its reasons."""
    checks = [statement_check(st, limits) for st in statements]
    checks += latency_checks(baseline, during, limits)
    checks.append(
        {
            "name": "no INVALID index left",
            "ok": not invalid,
            "message": (
                f"left INVALID (reported, then dropped): {', '.join(invalid)}"
                if invalid
                else "every index the script built is valid"
            ),
        }
    )
    reasons = [f"{c['name']}: {c['message']}" for c in checks if not c["ok"]]
    verdict = Verdict.of(
        reasons,
        lambda: (
            f"{len(statements)} statements ran; no workload wait over {limits.block_s:g} s, "
            f"p99 within {limits.p99_factor:g}x"
        ),
    )
    return {
        "decision": verdict.decision,
        "reasons": verdict.reasons,
        "checks": checks,
        "rule": limits.rule(),
    }
