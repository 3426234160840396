"""Load and validate the distribution spec into frozen dataclasses.

Structure is checked by a JSON Schema (types, required and unknown fields); the rules a schema
cannot say (shares that sum to 1, alpha > 1, min <= max, groups of at least 3) are checked here.
Every error names the spec field at fault, as a dotted path.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from synthgen.errors import SpecError
from synthgen.shipped import DEFAULT_SPEC_PATH

MEDIA_KINDS = ("IMAGE", "VIDEO", "DOCUMENT", "AUDIO")
MESSAGE_TYPES = ("TEXT", *MEDIA_KINDS)
SHARE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Band:
    messages: int
    users: int
    conversations: int


@dataclass(frozen=True)
class LogNormal:
    mu: float
    sigma: float


@dataclass(frozen=True)
class Diurnal:
    peak_hours: tuple[tuple[int, int], ...]
    trough_hours: tuple[int, int]
    peak_to_trough: float
    hourly_profile: tuple[float, ...] | None


@dataclass(frozen=True)
class TimeModel:
    snapshot_us: int
    window_days: int
    user_signup_days_before_window: int
    new_user_share: float
    new_user_signup_within: float  # new users sign up in this first share of the window
    diurnal: Diurnal
    weekday_to_weekend: float
    inter_arrival_cv: float
    in_burst_gap_seconds: float
    max_gap_share_of_mean: float  # an in-burst gap is at most this share of its piece's mean gap


@dataclass(frozen=True)
class ConversationModel:
    mix_direct: float
    mix_small: float
    mix_large: float
    small_min: int
    small_max: int
    small_geometric_p: float
    large_min: int
    large_max: int
    large_alpha: float
    membership_zipf_exponent: float
    admin_share: float
    inactive_member_share: float
    late_joiner_share: float
    heavy_open_within: float  # heavy rooms open in this first share of the window
    regular_open_within: float  # other rooms open at rand ** regular_open_skew * this share
    regular_open_skew: float
    second_member_within_seconds: float
    late_joiner_within_life: float  # late joiners arrive in this first share of the room's life
    last_join_before_snapshot_seconds: float


@dataclass(frozen=True)
class MessageCountModel:
    regular_alpha: float
    regular_min: int
    regular_max: int
    heavy_fraction: float
    heavy_min_messages: int
    heavy_alpha: float


@dataclass(frozen=True)
class ContentModel:
    length: LogNormal
    min_length: int
    max_length: int
    caption_share: float
    caption_length: LogNormal
    vocabulary_words: int
    word_zipf_exponent: float
    pool_bytes: int


@dataclass(frozen=True)
class AttachmentModel:
    size: LogNormal
    mime_types: tuple[str, ...]
    mime_shares: tuple[float, ...]


@dataclass(frozen=True)
class MediaModel:
    ratio: float
    kinds: tuple[str, ...]
    kind_shares: tuple[float, ...]
    attachments: dict[str, AttachmentModel]


@dataclass(frozen=True)
class DelayBand:
    name: str
    share: float
    min_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class ReceiptModel:
    read_rate: float
    bands: tuple[DelayBand, ...]
    near_term_mean_seconds: float
    delayed_lognormal: LogNormal
    # "message": one receipt per read message, by one member; "member": one per reading member
    per: str = "message"
    # with "member": rooms with more members keep only lastReadAt (None: no limit)
    per_member_max_members: int | None = None

    def writes_rows(self, room_members: int) -> bool:
        """Whether a room of this many members gets receipt rows (else only lastReadAt)."""
        cap = self.per_member_max_members
        return cap is None or room_members <= cap


@dataclass(frozen=True)
class Spec:
    """The validated spec. `raw` is the parsed JSON, kept for the manifest and the hash."""

    raw: dict[str, Any]
    bands: dict[str, Band]
    time: TimeModel
    conversations: ConversationModel
    message_counts: MessageCountModel
    content: ContentModel
    media: MediaModel
    receipts: ReceiptModel
    shard_messages: int
    row_group_rows: int
    critical_checks: tuple[str, ...]
    max_warnings: int

    @property
    def digest(self) -> str:
        """sha256 of the canonical JSON form: equal specs hash equal whatever their layout."""
        return spec_digest(self.raw)

    def band(self, name: str) -> Band:
        if name not in self.bands:
            known = ", ".join(sorted(self.bands))
            raise SpecError(f"--band: unknown band {name!r} (the spec defines: {known})")
        return self.bands[name]


def spec_digest(raw: dict[str, Any]) -> str:
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _schema() -> dict[str, Any]:
    text = resources.files("synthgen").joinpath("spec_schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


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


def _field(path: Any) -> str:
    parts = [str(p) for p in path]
    return ".".join(parts) if parts else "(top level)"


def parse_spec(raw: Any, source: str = "spec") -> Spec:
    """Validate an already-parsed spec document and build the dataclasses."""
    if not isinstance(raw, dict):
        raise SpecError(f"{source}: the spec must be a JSON object")
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(raw), key=lambda e: (len(e.absolute_path), str(e.path)))
    if errors:
        err = errors[0]
        where = _field(err.absolute_path)
        if err.validator == "additionalProperties":
            raise SpecError(f"{source}: field {where}: {err.message}")
        if err.validator == "required":
            raise SpecError(f"{source}: field {where}: {err.message}")
        raise SpecError(f"{source}: field {where}: {err.message}")
    _check_rules(raw, source)
    return _build(raw)


def _check_sum(source: str, field: str, shares: dict[str, float]) -> None:
    total = sum(shares.values())
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise SpecError(f"{source}: field {field}: shares must sum to 1 (they sum to {total:.6g})")


def _check_rules(raw: dict[str, Any], source: str) -> None:
    conv = raw["conversations"]
    _check_sum(source, "conversations.mix", conv["mix"])
    _check_sum(source, "media.mix", raw["media"]["mix"])
    for kind, model in raw["media"]["attachments"].items():
        _check_sum(source, f"media.attachments.{kind}.mime_types", model["mime_types"])
    delays = raw["read_receipts"]["delay_mixture"]
    _check_sum(source, "read_receipts.delay_mixture", {k: v["share"] for k, v in delays.items()})
    per = raw["read_receipts"].get("per", "message")
    if per != "member" and raw["read_receipts"].get("per_member_max_members") is not None:
        raise SpecError(
            f"{source}: field read_receipts.per_member_max_members: applies only when "
            f"read_receipts.per is 'member' (it is {per!r})"
        )
    alphas = {
        "conversations.large_group.alpha": conv["large_group"]["alpha"],
        "messages_per_conversation.regular.alpha": raw["messages_per_conversation"]["regular"][
            "alpha"
        ],
        "messages_per_conversation.heavy.alpha": raw["messages_per_conversation"]["heavy"]["alpha"],
    }
    for field, alpha in alphas.items():
        if alpha <= 1:
            raise SpecError(f"{source}: field {field}: a power-law alpha must be > 1 (got {alpha})")
    if conv["small_group"]["min_members"] < 3:
        raise SpecError(
            f"{source}: field conversations.small_group.min_members: a group needs >= 3 members "
            f"(got {conv['small_group']['min_members']}; 2 is a DIRECT conversation)"
        )
    if conv["large_group"]["min_members"] < 3:
        raise SpecError(f"{source}: field conversations.large_group.min_members: must be >= 3")
    ranges = [
        (
            "conversations.small_group",
            conv["small_group"]["min_members"],
            conv["small_group"]["max_members"],
        ),
        (
            "conversations.large_group",
            conv["large_group"]["min_members"],
            conv["large_group"]["max_members"],
        ),
        (
            "messages_per_conversation.regular",
            raw["messages_per_conversation"]["regular"]["min"],
            raw["messages_per_conversation"]["regular"]["max"],
        ),
        ("content", raw["content"]["min_length"], raw["content"]["max_length"]),
    ]
    for name in ("immediate", "near_term", "delayed", "stale"):
        ranges.append(
            (
                f"read_receipts.delay_mixture.{name}",
                delays[name]["min_seconds"],
                delays[name]["max_seconds"],
            )
        )
    for field, low, high in ranges:
        if low > high:
            raise SpecError(f"{source}: field {field}: min ({low}) is greater than max ({high})")
    diurnal = raw["time"]["diurnal"]
    for i, (start, end) in enumerate([*diurnal["peak_hours"], diurnal["trough_hours"]]):
        if start >= end:
            raise SpecError(
                f"{source}: field time.diurnal hour range #{i}: start {start} >= end {end}"
            )
    try:
        datetime.strptime(raw["time"]["snapshot"], "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise SpecError(f"{source}: field time.snapshot: not a valid UTC instant") from None


def _lognormal(d: dict[str, Any]) -> LogNormal:
    return LogNormal(mu=float(d["mu"]), sigma=float(d["sigma"]))


def _build(raw: dict[str, Any]) -> Spec:
    t = raw["time"]
    snapshot = datetime.strptime(t["snapshot"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    d = t["diurnal"]
    profile = d.get("hourly_profile")
    time_model = TimeModel(
        snapshot_us=int(snapshot.timestamp()) * 1_000_000,
        window_days=int(t["window_days"]),
        user_signup_days_before_window=int(t["user_signup_days_before_window"]),
        new_user_share=float(t["new_user_share"]),
        new_user_signup_within=float(t["new_user_signup_within"]),
        diurnal=Diurnal(
            peak_hours=tuple((int(a), int(b)) for a, b in d["peak_hours"]),
            trough_hours=(int(d["trough_hours"][0]), int(d["trough_hours"][1])),
            peak_to_trough=float(d["peak_to_trough"]),
            hourly_profile=tuple(float(x) for x in profile) if profile else None,
        ),
        weekday_to_weekend=float(t["weekday_to_weekend"]),
        inter_arrival_cv=float(t["burst"]["inter_arrival_cv"]),
        in_burst_gap_seconds=float(t["burst"]["in_burst_gap_seconds"]),
        max_gap_share_of_mean=float(t["burst"]["max_gap_share_of_mean"]),
    )
    c = raw["conversations"]
    conv_model = ConversationModel(
        mix_direct=float(c["mix"]["direct"]),
        mix_small=float(c["mix"]["small_group"]),
        mix_large=float(c["mix"]["large_group"]),
        small_min=int(c["small_group"]["min_members"]),
        small_max=int(c["small_group"]["max_members"]),
        small_geometric_p=float(c["small_group"]["geometric_p"]),
        large_min=int(c["large_group"]["min_members"]),
        large_max=int(c["large_group"]["max_members"]),
        large_alpha=float(c["large_group"]["alpha"]),
        membership_zipf_exponent=float(c["membership_zipf_exponent"]),
        admin_share=float(c["admin_share"]),
        inactive_member_share=float(c["inactive_member_share"]),
        late_joiner_share=float(c["late_joiner_share"]),
        heavy_open_within=float(c["opening"]["heavy_within"]),
        regular_open_within=float(c["opening"]["regular_within"]),
        regular_open_skew=float(c["opening"]["regular_skew"]),
        second_member_within_seconds=float(c["joining"]["second_member_within_seconds"]),
        late_joiner_within_life=float(c["joining"]["late_joiner_within_life"]),
        last_join_before_snapshot_seconds=float(c["joining"]["last_join_before_snapshot_seconds"]),
    )
    m = raw["messages_per_conversation"]
    counts = MessageCountModel(
        regular_alpha=float(m["regular"]["alpha"]),
        regular_min=int(m["regular"]["min"]),
        regular_max=int(m["regular"]["max"]),
        heavy_fraction=float(m["heavy"]["fraction"]),
        heavy_min_messages=int(m["heavy"]["min_messages"]),
        heavy_alpha=float(m["heavy"]["alpha"]),
    )
    ct = raw["content"]
    content = ContentModel(
        length=_lognormal(ct["length_lognormal"]),
        min_length=int(ct["min_length"]),
        max_length=int(ct["max_length"]),
        caption_share=float(ct["caption_share"]),
        caption_length=_lognormal(ct["caption_length_lognormal"]),
        vocabulary_words=int(ct["vocabulary_words"]),
        word_zipf_exponent=float(ct["word_zipf_exponent"]),
        pool_bytes=int(ct["pool_bytes"]),
    )
    md = raw["media"]
    attachments = {
        kind: AttachmentModel(
            size=_lognormal(md["attachments"][kind]["size_lognormal"]),
            # sorted: the model must not depend on the JSON's key order (manifests sort keys)
            mime_types=tuple(sorted(md["attachments"][kind]["mime_types"])),
            mime_shares=tuple(
                float(md["attachments"][kind]["mime_types"][m])
                for m in sorted(md["attachments"][kind]["mime_types"])
            ),
        )
        for kind in MEDIA_KINDS
    }
    media = MediaModel(
        ratio=float(md["ratio"]),
        kinds=MEDIA_KINDS,
        kind_shares=tuple(float(md["mix"][k]) for k in MEDIA_KINDS),
        attachments=attachments,
    )
    dm = raw["read_receipts"]["delay_mixture"]
    receipts = ReceiptModel(
        read_rate=float(raw["read_receipts"]["read_rate"]),
        bands=(
            DelayBand(
                "immediate",
                float(dm["immediate"]["share"]),
                float(dm["immediate"]["min_seconds"]),
                float(dm["immediate"]["max_seconds"]),
            ),
            DelayBand(
                "near_term",
                float(dm["near_term"]["share"]),
                float(dm["near_term"]["min_seconds"]),
                float(dm["near_term"]["max_seconds"]),
            ),
            DelayBand(
                "delayed",
                float(dm["delayed"]["share"]),
                float(dm["delayed"]["min_seconds"]),
                float(dm["delayed"]["max_seconds"]),
            ),
            DelayBand(
                "stale",
                float(dm["stale"]["share"]),
                float(dm["stale"]["min_seconds"]),
                float(dm["stale"]["max_seconds"]),
            ),
        ),
        near_term_mean_seconds=float(dm["near_term"]["mean_seconds"]),
        delayed_lognormal=LogNormal(
            float(dm["delayed"]["lognormal_mu"]), float(dm["delayed"]["lognormal_sigma"])
        ),
        per=str(raw["read_receipts"].get("per", "message")),
        per_member_max_members=(
            int(raw["read_receipts"]["per_member_max_members"])
            if raw["read_receipts"].get("per_member_max_members") is not None
            else None
        ),
    )
    return Spec(
        raw=raw,
        bands={name: Band(**b) for name, b in raw["bands"].items()},
        time=time_model,
        conversations=conv_model,
        message_counts=counts,
        content=content,
        media=media,
        receipts=receipts,
        shard_messages=int(raw["output"]["shard_messages"]),
        row_group_rows=int(raw["output"]["row_group_rows"]),
        critical_checks=tuple(raw["fidelity"]["critical"]),
        max_warnings=int(raw["fidelity"]["max_warnings"]),
    )
