"""Run the gate: open the dataset, run every registered check, decide GO / NO-GO."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from synthgen import __version__
from synthgen.errors import DatasetError, SpecError, gate_exit_code
from synthgen.fidelity.brief import BriefRow, brief_rows
from synthgen.fidelity.checks import CHECKS
from synthgen.fidelity.context import CheckContext
from synthgen.fidelity.dataset import Dataset, connect, open_dataset
from synthgen.fidelity.expected import band_counts
from synthgen.fidelity.results import CheckResult, Decision, check_status, decide, needed_scale
from synthgen.gate import NOISE_Z
from synthgen.shipped import DEFAULT_SPEC_PATH
from synthgen.spec import Spec, critical_able_checks
from synthgen.storage import DatasetPath

REPORT_FORMAT = 1


@dataclass
class FidelityReport:
    """Everything the gate found: per-check results, the decision, and what was compared."""

    dataset: Dataset
    spec: Spec
    spec_path: str
    tolerance: float
    results: list[CheckResult]
    decision: Decision
    seconds: float
    notes: list[str] = field(default_factory=list)
    brief: list[BriefRow] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 on GO, 3 on NO-GO."""
        return gate_exit_code(self.decision.go)

    def to_dict(self) -> dict[str, Any]:
        """The full report as JSON-ready data."""
        m = self.dataset.manifest
        return {
            "report_format": REPORT_FORMAT,
            "synthgen_version": __version__,
            "dataset": str(self.dataset.root),
            "band": self.dataset.band,
            "scale": self.dataset.scale,
            "seed": m.get("seed"),
            "manifest_sha256": self.dataset.manifest_sha256,
            "dataset_sha256": m.get("dataset_sha256"),
            "dataset_spec_sha256": m.get("spec_sha256"),
            "spec": self.spec_path,
            "spec_sha256": self.spec.digest,
            "tolerance": self.tolerance,
            "noise_z": NOISE_Z,
            "critical_checks": list(self.spec.fidelity.critical),
            "decision": self.decision.to_dict(),
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
            "checks": [r.to_dict() for r in self.results],
            # the product brief's figures, for information: never part of the decision
            "brief_figures": [b.to_dict() for b in self.brief],
        }


def check_critical_names(spec: Spec) -> None:
    """The spec's fidelity.critical list must name checks the schema lets be critical (a spec
    built in code skips the schema; a read one was refused already)."""
    known = critical_able_checks()
    for name in spec.fidelity.critical:
        if name not in known:
            raise SpecError(
                f"spec field fidelity.critical: unknown check {name!r} "
                f"(distribution checks: {', '.join(known)})"
            )


def validate_dataset(
    root: DatasetPath | str,
    spec: Spec,
    tolerance: float,
    spec_path: str = str(DEFAULT_SPEC_PATH),
    threads: int | None = None,
    memory_limit: str | None = None,
    temp_dir: Path | None = None,
) -> FidelityReport:
    """Validate the dataset in `root` against `spec`; raises DatasetError on unreadable data.

    `threads` (default: all cores), `memory_limit` (default 2 GiB; DuckDB spills beyond it) and
    `temp_dir` (where it spills; default under the dataset) tune DuckDB.
    """
    started = time.perf_counter()
    check_critical_names(spec)
    dataset = open_dataset(root)
    if dataset.band not in spec.bands:
        raise SpecError(
            f"{spec_path}: the dataset's band {dataset.band!r} is not in this spec "
            f"(it defines: {', '.join(sorted(spec.bands))})"
        )
    counts = band_counts(spec, dataset.band, dataset.scale)
    notes = []
    if dataset.manifest.get("spec_sha256") != spec.digest:
        notes.append(
            f"the dataset was built from spec {str(dataset.manifest.get('spec_sha256'))[:12]}, "
            f"validated against spec {spec.digest[:12]} ({spec_path})"
        )
    results = []
    with connect(dataset, threads, memory_limit, temp_dir) as con:
        ctx = CheckContext(con, spec, dataset, counts, tolerance)
        for check in CHECKS:
            start = time.perf_counter()
            try:
                outcome = check.run(ctx)
            except duckdb.Error as exc:
                first = str(exc).strip().splitlines()[0]
                raise DatasetError(f"{dataset.root}: check {check.name}: {first}") from None
            for metric in outcome.metrics:
                metric.min_scale = needed_scale(metric, dataset.scale)
            results.append(
                CheckResult(
                    number=check.number,
                    name=check.name,
                    title=check.title,
                    kind=check.kind,
                    critical=check.name in spec.fidelity.critical,
                    status=check_status(outcome.metrics, check.kind),
                    outcome=outcome,
                    sql=ctx.take_log(),
                    seconds=time.perf_counter() - start,
                )
            )
    decision = decide(results, spec.fidelity.max_warnings)
    return FidelityReport(
        dataset,
        spec,
        spec_path,
        tolerance,
        results,
        decision,
        time.perf_counter() - started,
        notes,
        brief_rows(spec, results),
    )
