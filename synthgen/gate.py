"""The fidelity gate's judging rule and its constants, in one place.

Both comparisons judge by it: a dataset against its spec (synthgen.fidelity) and a dataset
against production's shape metrics (synthgen.sample.against). Exit codes are in synthgen.errors;
the query-plan gate's thresholds are in synthgen.verify.compare.
"""

from __future__ import annotations

# --tolerance: a relative deviation (fidelity) or a distance (against production)
TOLERANCES = {"strict": 0.05, "normal": 0.15, "relaxed": 0.30}
DEFAULT_TOLERANCE_NAME = "normal"
DEFAULT_TOLERANCE = TOLERANCES[DEFAULT_TOLERANCE_NAME]
# sampling noise is stated as a NOISE_Z-sigma half-width
NOISE_Z = 4.0
# within the allowance PASS, within WARN_FACTOR times it WARN, beyond FAIL
WARN_FACTOR = 2.0
# 1 - 0.85 is 0.15000000000000002: a figure on the boundary passes
BOUNDARY_SLACK = 1e-9


def banded(deviation: float, allowed: float) -> str:
    """PASS, WARN or FAIL for a deviation (or distance) against what is allowed."""
    slack = 1 + BOUNDARY_SLACK
    if deviation <= allowed * slack:
        return "PASS"
    if deviation <= WARN_FACTOR * allowed * slack:
        return "WARN"
    return "FAIL"
