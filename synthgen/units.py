"""Time units: synthgen holds every instant as whole microseconds since the Unix epoch (UTC).

The engine, the fidelity gate, the loaders and the load test all convert through these.
"""

from __future__ import annotations

SECONDS_PER_HOUR = 3_600
SECONDS_PER_DAY = 24 * SECONDS_PER_HOUR
US_PER_MS = 1_000
US_PER_SECOND = 1_000_000
US_PER_HOUR = SECONDS_PER_HOUR * US_PER_SECOND
US_PER_DAY = SECONDS_PER_DAY * US_PER_SECOND
# 1970-01-01 was a Thursday: (days + 3) % 7 gives Monday = 0.
EPOCH_WEEKDAY_SHIFT = 3
