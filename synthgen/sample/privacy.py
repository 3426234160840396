"""Privacy controls of the sampler: the salt, HMAC tokens, K-suppression, Laplace noise, the scan.

- ANONYMIZATION_SALT must be set; it keys HMAC-SHA256 tokens for identifiers (production's schema,
  table and database names) and only its fingerprint is recorded.
- Buckets with fewer than K members are merged with their neighbours (ordered histograms) or
  suppressed (categories; and any bucket once noise is on, since merging would add up noise).
- Optional Laplace noise: the budget epsilon is split evenly across the histograms (sequential
  composition); each histogram's noise scale is its sensitivity over its share.
- The final scan refuses any string that is not a known key or value and anything that looks
  like personal data, naming where it is but never what it is.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from synthgen.sample.buckets import Bucket
from synthgen.sample.errors import PrivacyError, SampleError
from synthgen.sample.pii import find_pii

SALT_ENV = "ANONYMIZATION_SALT"
MIN_SALT_LENGTH = 16
TOKEN_PREFIX = "hmac-sha256:"
ALLOWED_PATTERNS = (
    re.compile(r"hmac-sha256:[0-9a-f]{32}"),  # an identifier's token
    re.compile(r"[0-9a-f]{16}"),  # the salt's fingerprint
    re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"),  # an instant (UTC)
    re.compile(r"\d+\.\d+\.\d+"),  # a version
)


def salt_from_env(environ: Mapping[str, str] | None = None) -> bytes:
    """The anonymization salt, or a SampleError when it is missing or too short."""
    value = (os.environ if environ is None else environ).get(SALT_ENV, "")
    if not value:
        raise SampleError(
            f"{SALT_ENV} is not set: the sampler refuses to run without a secret salt "
            f"(e.g. export {SALT_ENV}=$(openssl rand -hex 32))"
        )
    if len(value) < MIN_SALT_LENGTH:
        raise SampleError(f"{SALT_ENV} is too short (need at least {MIN_SALT_LENGTH} characters)")
    return value.encode()


def fingerprint(salt: bytes) -> str:
    """A short public fingerprint of the salt: tells salts apart, reveals nothing of them."""
    return hmac.new(salt, b"synthgen/salt-fingerprint/v1", hashlib.sha256).hexdigest()[:16]


def token(salt: bytes, kind: str, value: str) -> str:
    """An HMAC-SHA256 token standing for an identifier in the output."""
    digest = hmac.new(salt, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()
    return TOKEN_PREFIX + digest[:32]


def epsilon_split(names: Iterable[str], epsilon: float | None) -> dict[str, float]:
    """Each histogram's share of the budget (even split; shares sum to epsilon)."""
    names = list(names)
    if epsilon is None or not names:
        return {}
    return {name: epsilon / len(names) for name in names}


def add_noise(
    counts: NDArray[np.float64], scale: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Laplace noise of the given scale on every bucket of the domain, rounded, floored at 0."""
    noisy = counts + rng.laplace(0.0, scale, size=counts.shape)
    return np.maximum(np.rint(noisy), 0.0)


def merge_small(edges: tuple[float, ...], counts: NDArray[np.float64], k: int) -> list[Bucket]:
    """Merge consecutive buckets until each holds >= k members (a short tail joins the last
    group). `counts` is indexed like width_bucket: 0 below edges[0], i in [edges[i-1], edges[i]).
    Returns [] when the whole histogram holds fewer than k (it is then suppressed)."""
    bounds = [-math.inf, *edges, math.inf]
    groups: list[list[float]] = []  # [lo, hi, count]
    pending: list[float] | None = None
    for index in np.flatnonzero(counts > 0):
        lo, hi, n = bounds[index], bounds[index + 1], float(counts[index])
        pending = [lo, hi, n] if pending is None else [pending[0], hi, pending[2] + n]
        if pending[2] >= k:
            groups.append(pending)
            pending = None
    if pending is not None and groups:
        groups[-1] = [groups[-1][0], pending[1], groups[-1][2] + pending[2]]
    return [Bucket(lo, None if math.isinf(hi) else hi, n) for lo, hi, n in groups]


def threshold(edges: tuple[float, ...], counts: NDArray[np.float64], k: int) -> list[Bucket]:
    """Keep only the buckets holding >= k members (used on noisy counts)."""
    bounds = [-math.inf, *edges, math.inf]
    return [
        Bucket(bounds[i], None if math.isinf(bounds[i + 1]) else bounds[i + 1], float(counts[i]))
        for i in np.flatnonzero(counts >= k)
    ]


def suppress_categories(counts: dict[str, float], k: int) -> tuple[dict[str, int], list[str]]:
    """Categories holding fewer than k members are suppressed: dropped, only their name kept."""
    kept = {name: int(n) for name, n in counts.items() if n >= k}
    suppressed = sorted(name for name, n in counts.items() if 0 < n < k)
    return kept, suppressed


def scan_output(doc: Any, known_keys: set[str], known_values: set[str]) -> None:
    """Refuse (PrivacyError) any key or string value that looks like personal data, or that is
    neither a known key / value nor one of the allowed formats (token, fingerprint, instant)."""
    for path, text, is_key in _strings(doc, "$"):
        if any(p.fullmatch(text) for p in ALLOWED_PATTERNS):
            continue
        found = find_pii(text)
        if found:
            raise PrivacyError(
                f"output refused: {', '.join(found)} pattern at {path} (nothing was written)"
            )
        allowed = known_keys if is_key else known_values
        if text not in allowed:
            what = "key" if is_key else "string value"
            raise PrivacyError(
                f"output refused: unknown {what} at {path} (only known keys, enum values, tokens "
                "and fingerprints may leave the database; nothing was written)"
            )


def _strings(node: Any, path: str) -> Iterable[tuple[str, str, bool]]:
    """Every (path, string, is_key) in a JSON-like tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (path, str(key), True)
            yield from _strings(value, f"{path}.{_safe(key)}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{path}[{index}]")
    elif isinstance(node, str):
        yield (path, node, False)


def _safe(key: Any) -> str:
    """A path component safe to print: a key that might be personal is not shown."""
    text = str(key)
    return (
        text if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,40}", text) and not find_pii(text) else "?"
    )
