"""The fidelity gate: DuckDB checks a dataset against its spec and decides GO / NO-GO."""

from __future__ import annotations

from synthgen.fidelity.checks import CHECKS
from synthgen.fidelity.results import Status, parse_tolerance
from synthgen.fidelity.runner import FidelityReport, validate_dataset

__all__ = ["CHECKS", "FidelityReport", "Status", "parse_tolerance", "validate_dataset"]
