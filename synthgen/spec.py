"""Load and validate the distribution spec into frozen dataclasses.

Each spec field is declared once. Its meaning, unit and bounds are in the JSON Schema
(`spec_schema.json`: `description`, `minimum`, ...; `docs/spec.md` is generated from it). The
dataclasses below mirror the JSON: every attribute has its JSON name, and `jsonmodel.from_json`
fills them from their type hints (no field is copied by hand). The rules a schema cannot say
(shares that sum to 1, min <= max, hour ranges, a real calendar instant) are written once, in
`_rules`.
Every error names the spec field at fault, as a dotted path, on one line.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from synthgen.contract import MEDIA_KINDS
from synthgen.errors import SpecError, UnknownBandError
from synthgen.jsonmodel import SORTED, FieldError, check_finite, dotted, from_json
from synthgen.shipped import DEFAULT_SPEC_PATH
from synthgen.units import US_PER_SECOND

SHARE_TOLERANCE = 1e-6
SNAPSHOT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Band:
    """A size band (`bands.<name>`): the dataset's totals at scale 1."""

    messages: int
    users: int
    conversations: int


@dataclass(frozen=True)
class LogNormal:
    """exp(N(mu, sigma)): every log-normal of the spec has this one shape."""

    mu: float
    sigma: float


@dataclass(frozen=True)
class Diurnal:
    peak_hours: tuple[tuple[int, int], ...]
    trough_hours: tuple[int, int]
    peak_to_trough: float
    hourly_profile: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Burst:
    inter_arrival_cv: float
    in_burst_gap_seconds: float
    max_gap_share_of_mean: float


@dataclass(frozen=True)
class Time:
    snapshot: str
    window_days: int
    user_signup_days_before_window: int
    new_user_share: float
    new_user_signup_within: float
    diurnal: Diurnal
    weekday_to_weekend: float
    burst: Burst

    @cached_property
    def snapshot_us(self) -> int:
        """The snapshot instant in microseconds since the epoch (UTC)."""
        instant = datetime.strptime(self.snapshot, SNAPSHOT_FORMAT).replace(tzinfo=UTC)
        return int(instant.timestamp()) * US_PER_SECOND


@dataclass(frozen=True)
class ConversationMix:
    direct: float
    small_group: float
    large_group: float


@dataclass(frozen=True)
class SmallGroup:
    min_members: int
    max_members: int
    geometric_p: float


@dataclass(frozen=True)
class LargeGroup:
    min_members: int
    max_members: int
    alpha: float


@dataclass(frozen=True)
class Opening:
    heavy_within: float
    regular_within: float
    regular_skew: float


@dataclass(frozen=True)
class Joining:
    second_member_within_seconds: float
    late_joiner_within_life: float
    last_join_before_snapshot_seconds: float


@dataclass(frozen=True)
class Conversations:
    mix: ConversationMix
    small_group: SmallGroup
    large_group: LargeGroup
    membership_zipf_exponent: float
    admin_share: float
    inactive_member_share: float
    late_joiner_share: float
    opening: Opening
    joining: Joining


@dataclass(frozen=True)
class RegularRooms:
    alpha: float
    min: int
    max: int


@dataclass(frozen=True)
class HeavyRooms:
    fraction: float
    min_messages: int
    alpha: float


@dataclass(frozen=True)
class MessagesPerConversation:
    regular: RegularRooms
    heavy: HeavyRooms


@dataclass(frozen=True)
class Content:
    length_lognormal: LogNormal
    min_length: int
    max_length: int
    caption_share: float
    caption_length_lognormal: LogNormal
    vocabulary_words: int
    word_zipf_exponent: float
    pool_bytes: int


@dataclass(frozen=True)
class Attachment:
    size_lognormal: LogNormal
    # sorted: MIME codes follow this order, and manifests store the spec with sorted keys
    mime_types: Mapping[str, float] = field(metadata=SORTED)

    @property
    def mime_shares(self) -> tuple[float, ...]:
        return tuple(self.mime_types.values())


@dataclass(frozen=True)
class Media:
    ratio: float
    mix: Mapping[str, float]
    attachments: Mapping[str, Attachment]

    @property
    def kinds(self) -> tuple[str, ...]:
        """The media kinds in their code order (a message type's code - 1)."""
        return MEDIA_KINDS

    @property
    def kind_shares(self) -> tuple[float, ...]:
        return tuple(self.mix[kind] for kind in MEDIA_KINDS)


@dataclass(frozen=True)
class DelayComponent:
    """One component of the receipt-delay mixture (not a size band)."""

    share: float
    min_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class NearTermDelay(DelayComponent):
    mean_seconds: float


@dataclass(frozen=True)
class DelayedDelay(DelayComponent):
    lognormal: LogNormal


@dataclass(frozen=True)
class DelayMixture:
    immediate: DelayComponent
    near_term: NearTermDelay
    delayed: DelayedDelay
    stale: DelayComponent

    @property
    def components(self) -> tuple[DelayComponent, ...]:
        """The components in declaration order: a receipt's component code is its index."""
        return tuple(getattr(self, f.name) for f in fields(self))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self))

    @property
    def longest_seconds(self) -> float:
        """The longest delay any component allows: older messages have all their reads."""
        return max(d.max_seconds for d in self.components)


class ReceiptsPer(StrEnum):
    """`read_receipts.per`: one receipt per read message, or one per reading member."""

    MESSAGE = "message"
    MEMBER = "member"


@dataclass(frozen=True)
class ReadReceipts:
    read_rate: float
    delay_mixture: DelayMixture
    per: ReceiptsPer = ReceiptsPer.MESSAGE
    per_member_max_members: int | None = None

    @property
    def room_cap(self) -> int | None:
        """The most members a room may have and still write receipt rows (bigger rooms keep only
        lastReadAt); None: every room writes them."""
        return self.per_member_max_members if self.per == ReceiptsPer.MEMBER else None

    def writes_rows(self, room_members: Any) -> Any:
        """Whether rooms of these sizes (an int, or a NumPy array of them) get receipt rows."""
        cap = self.room_cap
        return room_members <= (cap if cap is not None else sys.maxsize)


@dataclass(frozen=True)
class Output:
    shard_messages: int
    row_group_rows: int


@dataclass(frozen=True)
class Churn:
    """What happens to rows after they are written (`synthgen extend` only); all 0 by default."""

    edit_rate: float = 0.0
    edit_delay_seconds: float = 300.0
    soft_delete_rate: float = 0.0
    hard_delete_rate: float = 0.0
    leave_rate: float = 0.0


@dataclass(frozen=True)
class Fidelity:
    critical: tuple[str, ...]
    max_warnings: int


@dataclass(frozen=True)
class Spec:
    """The validated spec. `raw` is the parsed JSON, kept for the manifest and the hash."""

    raw: dict[str, Any]
    version: int
    bands: Mapping[str, Band]
    time: Time
    conversations: Conversations
    messages_per_conversation: MessagesPerConversation
    content: Content
    media: Media
    read_receipts: ReadReceipts
    output: Output
    fidelity: Fidelity
    description: str = ""
    churn: Churn = field(default_factory=Churn)

    @property
    def digest(self) -> str:
        """sha256 of the canonical JSON form: equal specs hash equal whatever their layout."""
        return spec_digest(self.raw)

    def band(self, name: str) -> Band:
        if name not in self.bands:
            known = ", ".join(sorted(self.bands))
            raise UnknownBandError(f"--band: unknown band {name!r} (the spec defines: {known})")
        return self.bands[name]


def spec_digest(raw: dict[str, Any]) -> str:
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@cache
def spec_schema() -> dict[str, Any]:
    """The JSON Schema of the spec (shipped beside this module)."""
    text = resources.files("synthgen").joinpath("spec_schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def critical_able_checks() -> tuple[str, ...]:
    """The checks a spec's fidelity.critical may name: the schema's list, which reading a spec
    enforces and the gate reads (one list: the gate keeps no second copy)."""
    fidelity = spec_schema()["properties"]["fidelity"]["properties"]
    return tuple(fidelity["critical"]["items"]["enum"])


def load_spec(path: Path | str | None = None) -> Spec:
    """Read a spec file (default: the shipped specs/distribution-spec.json) and validate it."""
    spec_path = Path(path) if path is not None else DEFAULT_SPEC_PATH
    try:
        text = spec_path.read_text()
    except FileNotFoundError:
        raise SpecError(f"spec file {spec_path}: not found") from None
    except OSError as exc:
        raise SpecError(f"spec file {spec_path}: cannot read ({exc.strerror})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"spec file {spec_path}: not valid JSON (line {exc.lineno}: {exc.msg})"
        ) from None
    return parse_spec(raw, source=str(spec_path))


def parse_spec(raw: Any, source: str = "spec") -> Spec:
    """Validate an already-parsed spec document and build the dataclasses."""
    if not isinstance(raw, dict):
        raise SpecError(f"{source}: the spec must be a JSON object")
    try:
        check_finite(raw, ())
        _check_schema(raw)
        spec: Spec = from_json(Spec, raw, (), raw=raw)
        for field, message in _rules(spec):
            raise FieldError(field, message)
    except FieldError as err:
        raise SpecError(f"{source}: field {err.field}: {err.message}") from None
    return spec


# Shapes this version no longer reads, each with the shape that replaced it: an old spec gets
# one line naming the field and the new shape, not a list of unknown and missing properties.
_RESHAPED = {
    ("read_receipts", "delay_mixture", "delayed", "lognormal_mu"): (
        "read_receipts.delay_mixture.delayed.lognormal_mu/lognormal_sigma are now one object: "
        '"lognormal": {"mu": ..., "sigma": ...}'
    ),
}


def _check_schema(raw: dict[str, Any]) -> None:
    for old, message in _RESHAPED.items():
        node: Any = raw
        for key in old:
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            raise FieldError(dotted(old), message)
    validator = jsonschema.Draft202012Validator(spec_schema())
    errors = sorted(validator.iter_errors(raw), key=lambda e: (len(e.absolute_path), str(e.path)))
    if errors:
        err = errors[0]
        message = err.message
        described = _description(list(err.absolute_path))
        if described and err.validator not in ("required", "additionalProperties"):
            message = f"{message} ({described})"
        raise FieldError(dotted(err.absolute_path), message)


def _description(path: list[Any]) -> str | None:
    """The schema's description of the field at `path` (an error quotes what the field means)."""
    root = spec_schema()
    node: Any = root
    for key in path:
        if not isinstance(node, dict):
            return None
        if "$ref" in node:  # the field's own keys first, then its definition's
            node = {**root["$defs"][node["$ref"].rsplit("/", 1)[-1]], **node}
        if isinstance(key, int):
            node = node.get("items")
        elif key in node.get("properties", {}):
            node = node["properties"][key]
        elif node.get("patternProperties"):
            node = next(iter(node["patternProperties"].values()))
        else:
            node = node.get("additionalProperties")
    return node.get("description") if isinstance(node, dict) else None


def _rules(spec: Spec) -> Iterator[tuple[str, str]]:
    """The rules between fields that a JSON Schema cannot say: (field, what is wrong)."""
    conv, rooms = spec.conversations, spec.messages_per_conversation
    mixture = spec.read_receipts.delay_mixture
    shares: dict[str, Any] = {
        "conversations.mix": [conv.mix.direct, conv.mix.small_group, conv.mix.large_group],
        "media.mix": spec.media.mix.values(),
        "read_receipts.delay_mixture": [c.share for c in mixture.components],
    }
    for kind, model in spec.media.attachments.items():
        shares[f"media.attachments.{kind}.mime_types"] = model.mime_types.values()
    churn = spec.churn
    if churn.soft_delete_rate + churn.hard_delete_rate > 1.0:
        yield "churn", "soft_delete_rate + hard_delete_rate must not exceed 1"
    for where, values in shares.items():
        total = math.fsum(values)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            yield where, f"shares must sum to 1 (they sum to {total:.6g})"
    ranges: list[tuple[str, int, int]] = [
        ("conversations.small_group", conv.small_group.min_members, conv.small_group.max_members),
        ("conversations.large_group", conv.large_group.min_members, conv.large_group.max_members),
        ("messages_per_conversation.regular", rooms.regular.min, rooms.regular.max),
        ("content", spec.content.min_length, spec.content.max_length),
    ]
    for where, low, high in ranges:
        if low > high:
            yield where, f"min ({low}) is greater than max ({high})"
    # a delay component's CDF divides by its width: an empty range has none
    for name, component in zip(mixture.names, mixture.components, strict=True):
        if component.min_seconds >= component.max_seconds:
            yield (
                f"read_receipts.delay_mixture.{name}",
                f"min ({component.min_seconds:g}) must be below max ({component.max_seconds:g})",
            )
    receipts = spec.read_receipts
    if receipts.per != ReceiptsPer.MEMBER and receipts.per_member_max_members is not None:
        yield (
            "read_receipts.per_member_max_members",
            f"applies only when read_receipts.per is 'member' (it is '{receipts.per}')",
        )
    diurnal = spec.time.diurnal
    for i, (start, end) in enumerate([*diurnal.peak_hours, diurnal.trough_hours]):
        if start >= end:
            yield f"time.diurnal hour range #{i}", f"start {start} >= end {end}"
    try:
        datetime.strptime(spec.time.snapshot, SNAPSHOT_FORMAT)
    except ValueError:
        yield "time.snapshot", "not a valid UTC instant"
