"""Spec loading: the default spec is valid, and every bad input names its field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from synthgen.errors import SpecError
from synthgen.spec import DEFAULT_SPEC_PATH, load_spec, parse_spec


@pytest.fixture()
def raw() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DEFAULT_SPEC_PATH.read_text())
    return loaded


def test_default_spec_has_the_brief_figures() -> None:
    spec = load_spec()
    assert spec.band("dev").messages == 5_000_000
    assert spec.band("staging").users == 150_000
    assert spec.band("perf").conversations == 600_000
    assert spec.conversations.mix.direct == 0.70
    assert spec.messages_per_conversation.regular.alpha == 1.8
    assert spec.messages_per_conversation.heavy.fraction == 0.02
    assert spec.content.length_lognormal.mu == 4.5 and spec.content.length_lognormal.sigma == 1.2
    assert spec.media.ratio == 0.15
    assert dict(zip(spec.media.kinds, spec.media.kind_shares, strict=True))["VIDEO"] == 0.15
    assert spec.read_receipts.read_rate == 0.82
    mixture = spec.read_receipts.delay_mixture
    assert [c.share for c in mixture.components] == [0.35, 0.40, 0.15, 0.10]
    assert mixture.names == ("immediate", "near_term", "delayed", "stale")
    assert mixture.delayed.lognormal.mu == 9.6 and mixture.delayed.lognormal.sigma == 1.0
    assert mixture.near_term.mean_seconds == 600.0
    assert spec.time.burst.inter_arrival_cv == 2.5
    assert spec.time.snapshot_us == 1_767_225_600 * 1_000_000
    assert spec.conversations.opening.heavy_within == 0.1
    assert spec.output.shard_messages == 250_000 and spec.fidelity.max_warnings == 3
    assert spec.time.window_days == 90
    assert len(spec.digest) == 64


def test_digest_ignores_layout(raw: dict[str, Any]) -> None:
    reordered = dict(reversed(list(raw.items())))
    assert parse_spec(reordered).digest == parse_spec(raw).digest


def _mutate(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    node = out
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return out


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("conversations.mix.direct", "lots", "conversations.mix.direct"),
        # a bound's error quotes what the field means, from the schema
        (
            "conversations.mix.direct",
            1.5,
            "1.5 is greater than the maximum of 1 (DIRECT conversations: exactly 2 members",
        ),
        (
            "read_receipts.delay_mixture.delayed.lognormal.sigma",
            0,
            "sigma: 0 is less than or equal to the minimum of 0 (Standard deviation of",
        ),
        ("conversations.mix.direct", 0.8, "conversations.mix: shares must sum to 1"),
        ("media.mix.IMAGE", 0.5, "media.mix: shares must sum to 1"),
        ("read_receipts.delay_mixture.stale.share", 0.3, "read_receipts.delay_mixture"),
        (
            "media.attachments.AUDIO.mime_types",
            {"audio/ogg": 0.5},
            "media.attachments.AUDIO.mime_types",
        ),
        (
            "messages_per_conversation.regular.alpha",
            1.0,
            "regular.alpha: 1.0 is less than or equal to the minimum of 1 (Exponent of the power",
        ),
        ("conversations.large_group.alpha", 0.5, "large_group.alpha"),
        (
            "conversations.small_group.min_members",
            2,
            "small_group.min_members: 2 is less than the minimum of 3 (Fewest members of a small "
            "group (2 is a DIRECT conversation).)",
        ),
        (
            "conversations.small_group.min_members",
            25,
            "small_group: min (25) is greater than max (20)",
        ),
        (
            "messages_per_conversation.regular.min",
            20000,
            "regular: min (20000) is greater than max",
        ),
        ("content.min_length", 5000, "field content: min"),
        ("bands.dev.messages", -5, "bands.dev.messages"),
        ("bands.dev.users", "many", "bands.dev.users"),
        ("time.snapshot", "yesterday", "time.snapshot"),
        ("time.window_days", _DELETE, "'window_days' is a required property"),
        ("media.colour", "blue", "'colour' was unexpected"),
        # the model's smaller figures are spec fields too, checked like the rest
        ("conversations.opening.regular_within", 0, "conversations.opening.regular_within"),
        ("conversations.opening", _DELETE, "'opening' is a required property"),
        ("conversations.joining.late_joiner_within_life", 1.5, "late_joiner_within_life"),
        ("time.burst.max_gap_share_of_mean", -0.1, "time.burst.max_gap_share_of_mean"),
        ("time.new_user_signup_within", "most", "time.new_user_signup_within"),
        ("content.pool_bytes", 100, "content.pool_bytes"),
        # a shard's arrays must fit a worker's memory budget (~0.5 KB a message)
        ("output.shard_messages", 5_000_000, "output.shard_messages"),
        (
            "read_receipts.delay_mixture.immediate.min_seconds",
            60,
            "immediate: min (60) must be below max (30)",
        ),
        # an empty delay range has no CDF to divide by
        ("read_receipts.delay_mixture.stale.min_seconds", 2592000, "stale: min (2.592e+06) must"),
        # JSON allows NaN and Infinity, and every comparison with NaN passes the schema's bounds
        ("conversations.mix.direct", float("nan"), "conversations.mix.direct: must be a finite"),
        ("time.burst.in_burst_gap_seconds", float("inf"), "in_burst_gap_seconds: must be a finite"),
        ("content.length_lognormal.mu", 10**400, "content.length_lognormal.mu: must be a finite"),
        ("time.snapshot", "2026-02-30T00:00:00Z", "time.snapshot: not a valid UTC instant"),
        ("time.diurnal.trough_hours", [6, 0], "time.diurnal hour range #2: start 6 >= end 0"),
        ("read_receipts.per", "reader", "read_receipts.per"),
        ("read_receipts.per_member_max_members", 1, "read_receipts.per_member_max_members"),
        ("read_receipts.per", "message", "per_member_max_members: applies only when"),
    ],
)
def test_bad_fields_are_named(raw: dict[str, Any], path: str, value: Any, expected: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(_mutate(raw, path, value))
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1,')
    with pytest.raises(SpecError, match="not valid JSON"):
        load_spec(broken)
    array = tmp_path / "array.json"
    array.write_text("[1, 2]")
    with pytest.raises(SpecError, match="must be a JSON object"):
        load_spec(array)


def test_unknown_band_lists_known_ones() -> None:
    with pytest.raises(
        SpecError, match=r"--band: unknown band 'huge' \(the spec defines: dev, perf, staging\)"
    ):
        load_spec().band("huge")


def test_critical_names_are_the_gates_checks() -> None:
    """The schema's list of checks a spec may call critical is the gate's registry, so a typo
    in fidelity.critical fails when the spec is read (generate), not only in validate."""
    import synthgen.spec as spec_module
    from synthgen.fidelity import CHECKS

    schema = json.loads((Path(spec_module.__file__).parent / "spec_schema.json").read_text())
    listed = schema["properties"]["fidelity"]["properties"]["critical"]["items"]["enum"]
    # the distribution checks, by the registry's kinds: the integrity checks always block
    assert listed == [c.name for c in CHECKS if c.kind == "distribution"]
    assert len(listed) == 7
    assert spec_module.critical_able_checks() == tuple(listed)
    raw = json.loads(DEFAULT_SPEC_PATH.read_text())
    for name in ("temporel", "pii", "physical_layout"):
        raw["fidelity"]["critical"] = ["media", name]
        with pytest.raises(SpecError, match=rf"fidelity\.critical\.1: '{name}' is not one of"):
            parse_spec(raw)


def test_receipt_model_fields(raw: dict[str, Any]) -> None:
    spec = parse_spec(raw)  # the default: one receipt per reading member, big rooms capped
    receipts = spec.read_receipts
    assert (receipts.per, receipts.per_member_max_members) == ("member", 20)
    assert receipts.writes_rows(20) and not receipts.writes_rows(21)
    older = _mutate(
        _mutate(raw, "read_receipts.per", _DELETE), "read_receipts.per_member_max_members", _DELETE
    )
    legacy = parse_spec(older).read_receipts  # a spec written before the field: per message
    assert (legacy.per, legacy.per_member_max_members) == ("message", None)
    uncapped = parse_spec(_mutate(raw, "read_receipts.per_member_max_members", None))
    assert uncapped.read_receipts.writes_rows(256)
