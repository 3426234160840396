"""What `synthgen run` is asked to do (RunOptions) and what must match for a rerun to resume."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen.errors import EXIT_NO_GO, SynthgenError
from synthgen.gate import DEFAULT_TOLERANCE
from synthgen.loadtest.stage import LoadTestStage
from synthgen.postgres.guard import GuardSettings
from synthgen.rehearse.stage import RehearseStage
from synthgen.spec import Spec
from synthgen.verify.baseline import DEFAULT_RUNS

Say = Callable[[str], None]


class GateFailed(SynthgenError):
    """A gate said NO-GO: exit code 3, like `validate` and `verify compare`."""

    exit_code = EXIT_NO_GO


@dataclass(frozen=True)
class RunOptions:
    band: str
    scale: float
    seed: str
    out: Path
    dsn: str
    schema: str = "perf_synthetic"
    runs: int = DEFAULT_RUNS
    plan_mode: str = "both"
    compare_plans_with: Path | None = None  # an earlier run's directory (e.g. the dev band's)
    workers: int = 1
    force: bool = False
    tolerance: float = DEFAULT_TOLERANCE
    spec_path: str | None = None
    overwrite: bool = False  # start over, replacing what an earlier run left in `out`
    guard: GuardSettings = field(default_factory=GuardSettings)
    # an application's own schema: its migrations, the mapping, its queries and index script
    mapping_path: Path | None = None
    migrations: str | None = None
    queries_dir: Path | None = None
    indexes_file: Path | None = None
    # `--loadtest`: pgbench sweeps before and after the indexes (None: no load-test stages)
    loadtest: LoadTestStage | None = None
    # `--rehearse`: the indexes stage builds the script under the workload (synthgen.rehearse)
    rehearse: RehearseStage | None = None
    # `--suggest`: suggest indexes and prove them instead of applying a given script
    suggest: bool = False
    # `--extend-days N`: after the phase-2 indexes, soak N simulated days (synthgen.soak)
    extend_days: int = 0

    def identity(self, spec: Spec) -> dict[str, Any]:
        """What must match for a rerun to continue this run rather than start another."""
        return {
            "band": self.band,
            "scale": self.scale,
            "seed": self.seed,
            "spec_sha256": spec.digest,
            "schema": self.schema,
            "tolerance": self.tolerance,
            **({"mapping": str(self.mapping_path)} if self.mapping_path else {}),
            **({"loadtest": self.loadtest.identity()} if self.loadtest else {}),
            **({"rehearse": self.rehearse.identity()} if self.rehearse else {}),
            **({"suggest": True} if self.suggest else {}),
            **({"extend_days": self.extend_days} if self.extend_days else {}),
        }
