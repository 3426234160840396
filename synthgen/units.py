"""Time units: synthgen holds every instant as whole microseconds since the Unix epoch (UTC).

The engine, the fidelity gate, the loaders and the load test all convert through these.
"""

from __future__ import annotations

US_PER_MS = 1_000
US_PER_SECOND = 1_000_000
US_PER_HOUR = 3_600 * US_PER_SECOND
US_PER_DAY = 24 * US_PER_HOUR
# 1970-01-01 was a Thursday: (days + 3) % 7 gives Monday = 0.
EPOCH_WEEKDAY_SHIFT = 3
