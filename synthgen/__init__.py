"""synthgen: production-shaped synthetic chat-app data for proving PostgreSQL changes at scale."""

from __future__ import annotations

__version__ = "0.1.0"
