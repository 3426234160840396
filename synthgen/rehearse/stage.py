"""`synthgen run --rehearse`: the index script built under the workload instead of on an idle
server — the run's `indexes` stage becomes a rehearsal. Its verdict joins the run's: a NO-GO
exits 3 like the gates. A failed statement stops the run (the post baseline would measure a
half-applied script)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from synthgen.errors import EXIT_NO_GO, SynthgenError
from synthgen.rehearse.run import (
    HTML_NAME,
    RESULT_NAME,
    RehearseOptions,
    Say,
    read_result,
    rehearse,
)
from synthgen.rehearse.verdict import Limits


class RehearsalFailed(SynthgenError):
    """A statement of the script failed under load: the run stops with the rehearsal's NO-GO."""

    exit_code = EXIT_NO_GO


@dataclass(frozen=True)
class RehearseStage:
    """The run's rehearsal settings (`--rehearse-*`)."""

    clients: int = 4
    rate: float = 20.0
    settle: int = 5
    load_seconds: int = 120
    hold: float = 0.0
    limits: Limits = field(default_factory=Limits)

    def identity(self) -> dict[str, Any]:
        return asdict(self)


def default_mix(doc_mix: dict[str, int], scripts: dict[str, Any]) -> dict[str, int]:
    """The workload's mix, with W2 at W1's weight when the workload has it but the mix leaves
    it out: the rehearsal's load both sends (W1) and marks read (W2)."""
    mix = dict(doc_mix)
    if "W2" in scripts and not mix.get("W2") and mix.get("W1"):
        mix["W2"] = mix["W1"]
    return mix


def run_rehearsal_stage(
    dsn: str, schema: str, out: Path, script: Path, settings: RehearseStage, say: Say
) -> dict[str, Any]:
    """Rehearse the index script under the run's workload (out/workload); returns the stage
    summary for the run state."""
    from synthgen.loadtest.workload import read_workload

    doc = read_workload(out / "workload")
    opts = RehearseOptions(
        dsn,
        schema,
        script,
        out,
        out / "workload",
        settings.clients,
        settings.rate,
        settings.settle,
        settings.load_seconds,
        mix=default_mix(doc["mix"], doc["scripts"]),
        hold=settings.hold,
        limits=settings.limits,
    )
    result = rehearse(opts, say)
    failed = [s for s in result["statements"] if not s["ok"] and not s.get("skipped")]
    if failed:
        raise RehearsalFailed(
            f"rehearsal: NO-GO: statement {failed[0]['number']} failed under load "
            f"({failed[0]['error']}); see {out / HTML_NAME}"
        )
    # the shape of the plain indexes stage: compare reads each index's build time from it
    built = [
        {
            "index": s["index"]["name"],
            "seconds": s["seconds"],
            "size_bytes": s["index"]["size_bytes"],
            "valid": s["index"]["valid"],
        }
        for s in result["statements"]
        if s.get("index")
    ]
    return {
        "summary": f"rehearsal {result['decision']}: {len(result['statements'])} statements, "
        f"{len(built)} indexes built under load",
        "verdict": result["decision"],
        "indexes": built,
    }


def read_stage(out: Path) -> dict[str, Any] | None:
    """The run's rehearsal result, if it ran one."""
    path = out / RESULT_NAME
    return read_result(path) if path.is_file() else None
