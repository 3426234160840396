"""Errors of the sampler and the calibrator (one line each, naming the culprit)."""

from __future__ import annotations

from synthgen.errors import SynthgenError


class SampleError(SynthgenError):
    """The sampler cannot run or was refused (no salt, a missing mapped column, a bad option)."""


class PrivacyError(SampleError):
    """The output would carry something it must not (an unknown string, a PII pattern)."""


class MetricsError(SynthgenError):
    """A shape-metrics file is missing, unreadable or not in the expected format."""


class CalibrationError(SynthgenError):
    """The metrics cannot be turned into a spec (e.g. too little data for a required fit)."""
