"""What this machine offers the parallel parts (the build's workers, the loader's jobs)."""

from __future__ import annotations

import os


def default_workers() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
