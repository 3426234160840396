"""Sample production's shape with aggregate-only SQL, privately (see sampler.py), and compare a
synthetic dataset against it (see against.py)."""

from __future__ import annotations
