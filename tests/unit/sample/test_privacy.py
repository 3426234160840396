"""Privacy controls: salt, tokens, K-merging, suppression, Laplace noise and the output scan."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synthgen.sample.errors import PrivacyError, SampleError
from synthgen.sample.histograms import Thresholds, registry
from synthgen.sample.privacy import (
    add_noise,
    epsilon_split,
    fingerprint,
    merge_small,
    salt_from_env,
    scan_output,
    suppress_categories,
    threshold,
    token,
)
from synthgen.sample.publish import empty_counts, publish

SALT = b"0123456789abcdef-test-salt"


def test_salt_is_required_and_must_be_long_enough() -> None:
    with pytest.raises(SampleError, match="ANONYMIZATION_SALT is not set"):
        salt_from_env({})
    with pytest.raises(SampleError, match="ANONYMIZATION_SALT is not set"):
        salt_from_env({"ANONYMIZATION_SALT": ""})
    with pytest.raises(SampleError, match="too short"):
        salt_from_env({"ANONYMIZATION_SALT": "short"})
    assert salt_from_env({"ANONYMIZATION_SALT": "x" * 16}) == b"x" * 16


def test_fingerprint_and_tokens_are_keyed_by_the_salt() -> None:
    print_a, print_b = fingerprint(SALT), fingerprint(SALT + b"!")
    assert len(print_a) == 16 and int(print_a, 16) >= 0
    assert print_a == fingerprint(SALT) and print_a != print_b
    assert SALT.decode() not in print_a
    tok = token(SALT, "table", "app.posts")
    assert tok.startswith("hmac-sha256:") and len(tok) == len("hmac-sha256:") + 32
    assert tok == token(SALT, "table", "app.posts")
    assert tok != token(SALT + b"!", "table", "app.posts")  # no salt, no dictionary attack
    assert tok != token(SALT, "schema", "app.posts")
    assert "posts" not in tok


def test_buckets_below_k_merge_with_their_neighbours() -> None:
    edges = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
    # width_bucket indexing: 0 below 1, 1 = [1,2), 2 = [2,5), ..., 6 = [50, inf)
    counts = np.array([0, 25, 3, 4, 12, 0, 2], dtype=np.float64)
    merged = merge_small(edges, counts, 10)
    # 3 and 4 join the next bucket (3 + 4 + 12 = 19); the tail of 2 above 50 joins that group
    assert [(b.lo, b.hi, b.count) for b in merged] == [(1.0, 2.0, 25.0), (2.0, None, 21.0)]
    assert all(b.count >= 10 for b in merged)
    assert sum(b.count for b in merged) == counts.sum()


def test_a_histogram_below_k_is_suppressed_entirely() -> None:
    assert merge_small((1.0, 2.0), np.array([0, 4, 5], dtype=np.float64), 10) == []


def test_categories_below_k_are_suppressed_by_name_only() -> None:
    kept, suppressed = suppress_categories({"TEXT": 500, "AUDIO": 3, "VIDEO": 0, "OTHER": 9}, 10)
    assert kept == {"TEXT": 500}
    assert suppressed == ["AUDIO", "OTHER"]


def test_threshold_keeps_only_buckets_of_at_least_k() -> None:
    out = threshold((0.0, 1.0, 2.0), np.array([0, 30, 4, 11], dtype=np.float64), 10)
    assert [(b.lo, b.hi, b.count) for b in out] == [(0.0, 1.0, 30.0), (2.0, None, 11.0)]


def test_laplace_noise_has_the_stated_scale() -> None:
    rng = np.random.default_rng(1)
    counts = np.full(20_000, 1000.0)
    noisy = add_noise(counts, 5.0, rng)
    assert np.all(noisy == np.rint(noisy)) and noisy.min() >= 0
    # E|Laplace(b)| = b
    assert abs(np.mean(np.abs(noisy - counts)) - 5.0) < 0.15
    assert add_noise(np.zeros(1000), 50.0, rng).min() == 0.0  # floored at zero


def test_epsilon_split_sums_to_the_budget() -> None:
    split = epsilon_split(["a", "b", "c", "d"], 2.0)
    assert split == {"a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5}
    assert math.isclose(sum(split.values()), 2.0)
    assert epsilon_split(["a"], None) == {}


def test_publish_states_the_epsilon_split_and_noise_scales() -> None:
    specs = registry(Thresholds())
    raw = empty_counts(specs)
    raw["message_types"] = {"TEXT": 9000.0, "IMAGE": 800.0, "VIDEO": 150.0, "DOCUMENT": 40.0,
                            "AUDIO": 10.0, "OTHER": 0.0}  # fmt: skip
    hours = np.zeros(25)
    hours[1:] = 400.0
    raw["hour_of_day"] = hours
    histograms, privacy = publish(raw, specs, 10, 1.0, np.random.default_rng(3))
    assert privacy["mechanism"] == "laplace" and privacy["epsilon"] == 1.0
    assert set(privacy["epsilon_split"]) == set(specs)
    assert math.isclose(sum(privacy["epsilon_split"].values()), 1.0)
    share = 1.0 / len(specs)
    assert math.isclose(privacy["noise_scale"]["message_types"], 1.0 / share)
    assert math.isclose(privacy["noise_scale"]["inter_arrival_seconds"], 3.0 / share)
    counts = histograms["message_types"]["counts"]
    assert abs(counts["TEXT"] - 9000) < 400 and set(counts) <= set(raw["message_types"])
    assert all(b["count"] >= 10 for b in histograms["hour_of_day"]["buckets"])


def test_publish_without_noise_merges_and_reports_it() -> None:
    specs = registry(Thresholds())
    raw = empty_counts(specs)
    sizes = np.zeros(len(specs["large_group_members"].edges) + 1)
    sizes[[20, 21, 22, 23]] = [40, 3, 3, 30]
    raw["large_group_members"] = sizes
    histograms, privacy = publish(raw, specs, 10, None)
    entry = histograms["large_group_members"]
    assert privacy == {**privacy, "mechanism": "none", "epsilon": None, "epsilon_split": {}}
    assert [b["count"] for b in entry["buckets"]] == [40, 36]
    assert entry["merged_buckets"] == 2
    assert histograms["message_types"]["counts"] == {}  # nothing measured: nothing published


KEYS = {"histograms", "message_types", "counts", "kind", "source", "schema", "TEXT"}
VALUES = {"categorical", "TEXT"}


def test_scan_accepts_known_keys_values_tokens_and_fingerprints() -> None:
    doc = {
        "histograms": {"message_types": {"kind": "categorical", "counts": {"TEXT": 12}}},
        "source": {"schema": token(SALT, "schema", "app")},
        "kind": fingerprint(SALT),
    }
    scan_output(doc, KEYS, VALUES)


@pytest.mark.parametrize(
    ("planted", "pattern"),
    [
        ("maria.garcia17@northwind-mail.com", "email address"),
        ("+1 415 555 0134", "phone number"),
        ("(212) 555-0187", "phone number"),
        ("4111 1111 1111 1111", "payment card number"),
        ("078-05-1120", "national id number"),
    ],
)
def test_scan_refuses_a_planted_pii_value_without_printing_it(planted: str, pattern: str) -> None:
    doc = {"histograms": {"message_types": {"kind": "categorical", "counts": {"TEXT": 12}}}}
    doc["histograms"]["message_types"]["kind"] = planted
    with pytest.raises(PrivacyError, match=pattern) as err:
        scan_output(doc, KEYS, VALUES | {planted})  # refused even if it were "known"
    assert planted not in str(err.value)
    assert "$.histograms.message_types" in str(err.value)


def test_scan_refuses_pii_in_a_key_and_unknown_strings() -> None:
    planted_key = {"histograms": {"message_types": {"counts": {"liam.smith@bluepost-mail.net": 1}}}}
    with pytest.raises(PrivacyError, match="email address") as err:
        scan_output(planted_key, KEYS, VALUES)
    assert "liam" not in str(err.value)
    with pytest.raises(PrivacyError, match="unknown string value"):
        scan_output({"histograms": {"kind": "Maria's birthday"}}, KEYS, VALUES)
    with pytest.raises(PrivacyError, match="unknown key"):
        scan_output({"histograms": {"Garcia family": 1}}, KEYS, VALUES)
