"""Domain errors. Each names the culprit (spec field, flag, file or column) in one line."""

from __future__ import annotations

from synthgen.verdict import GO

# Exit codes, the one place they are written: pipelines read them.
EXIT_OK = 0  # success, or GO
EXIT_FAILED = 1  # bad input or a failed step (one line naming the culprit)
EXIT_USAGE = 2  # click's usage errors
EXIT_NO_GO = 3  # a gate said NO-GO
EXIT_INTERRUPTED = 130  # Ctrl-C


def gate_exit_code(decision_or_go: str | bool) -> int:
    """A gate's exit code: 0 on GO, 3 on NO-GO (a verdict's decision, or whether it is GO)."""
    go = decision_or_go == GO if isinstance(decision_or_go, str) else decision_or_go
    return EXIT_OK if go else EXIT_NO_GO


class SynthgenError(Exception):
    """Base class: the CLI turns any of these into a one-line message and exit code 1."""

    exit_code = 1


class SpecError(SynthgenError):
    """The spec file is missing, unreadable, or a field is invalid."""


class UnknownBandError(SpecError):
    """--band names no band of the spec: a bad flag value, so a usage error (exit 2)."""

    exit_code = EXIT_USAGE


class PlanError(SynthgenError):
    """The requested band / scale / seed cannot be planned (e.g. a scale too small)."""


class DatasetError(SynthgenError):
    """A dataset directory is missing, unreadable, inconsistent or unwritable."""


class LoadError(SynthgenError):
    """Loading into PostgreSQL failed or was refused."""


class GuardError(LoadError):
    """The production guard refused to touch the target database."""


class VerifyError(SynthgenError):
    """Baselines or index verification failed."""


class ClusterError(SynthgenError):
    """The local PostgreSQL cluster could not be started, stopped or found."""


class MappingError(SynthgenError):
    """--mapping names an unknown contract table or column, or is not valid JSON."""


class LoadTestError(SynthgenError):
    """A workload could not be built, or a load test could not run."""
