"""Fit spec parameters to production's shape metrics (see calibrate.py and fit.py)."""

from __future__ import annotations
