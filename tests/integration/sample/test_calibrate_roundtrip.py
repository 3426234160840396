"""Calibration and the comparison against production, with a synthetic dataset as "production".

No PostgreSQL here: `shape_metrics_of` publishes a dataset's histograms exactly as the sampler
publishes production's, so spec -> dataset -> metrics -> calibrated spec can be checked against
the spec the dataset was built from.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from synthgen.calibrate.calibrate import Calibration, calibrate
from synthgen.cli.calibrate import calibrate as calibrate_command
from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.sample.against import compare_against
from synthgen.sample.metrics import ShapeMetrics
from synthgen.sample.synthetic import shape_metrics_of
from synthgen.spec import DEFAULT_SPEC_PATH, load_spec, parse_spec

SYNTHGEN = str(Path(sys.executable).parent / "synthgen")
EVENING = [1.0] * 17 + [2.0, 4.0, 6.0, 6.0, 6.0, 4.0, 2.0]


def _evening_spec() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(DEFAULT_SPEC_PATH.read_text())
    raw["media"]["ratio"] = 0.4
    raw["media"]["mix"] = {"IMAGE": 0.5, "VIDEO": 0.2, "DOCUMENT": 0.2, "AUDIO": 0.1}
    raw["conversations"]["mix"] = {"direct": 0.2, "small_group": 0.5, "large_group": 0.3}
    raw["time"]["diurnal"]["hourly_profile"] = EVENING
    raw["time"]["window_days"] = 30
    raw["content"]["length_lognormal"] = {"mu": 3.8, "sigma": 0.9}
    raw["read_receipts"]["read_rate"] = 0.7
    # what the sampler measures and calibrate fits: one receipt per message
    raw["read_receipts"]["per"] = "message"
    raw["read_receipts"].pop("per_member_max_members", None)
    # enough heavy rooms, with a tail light enough, that their sizes survive K-merging and two
    # seeds give similar rooms (the default 2% at alpha 2 leaves a dozen wildly unequal rooms)
    raw["messages_per_conversation"]["heavy"].update({"fraction": 0.05, "alpha": 2.5})
    return raw


@pytest.fixture(scope="module")
def evening(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    raw = _evening_spec()
    out = tmp_path_factory.mktemp("evening") / "ds"
    build_dataset(parse_spec(raw), BuildOptions("staging", 0.0025, "evening", out, workers=1))
    return out, raw


@pytest.fixture(scope="module")
def metrics(evening: tuple[Path, dict[str, Any]]) -> ShapeMetrics:
    return shape_metrics_of(evening[0])


@pytest.fixture(scope="module")
def calibrated(metrics: ShapeMetrics) -> Calibration:
    return calibrate(metrics, json.loads(DEFAULT_SPEC_PATH.read_text()))


def test_calibration_recovers_the_spec_it_was_built_from(calibrated: Calibration) -> None:
    got, truth = calibrated.raw, _evening_spec()
    assert got["bands"] == truth["bands"]  # the base's bands are kept
    assert got["conversations"]["mix"] == {"direct": 0.2, "small_group": 0.5, "large_group": 0.3}
    assert got["media"]["ratio"] == pytest.approx(0.4, abs=0.01)
    for kind, share in truth["media"]["mix"].items():
        assert got["media"]["mix"][kind] == pytest.approx(share, abs=0.02)
    profile = got["time"]["diurnal"]["hourly_profile"]
    assert sorted(sorted(range(24), key=lambda h: -profile[h])[:3]) == [19, 20, 21]
    assert got["time"]["diurnal"]["peak_hours"] == [[19, 22]]
    assert got["time"]["window_days"] == 30
    length = got["content"]["length_lognormal"]
    assert (length["mu"], length["sigma"]) == pytest.approx((3.8, 0.9), abs=0.05)
    assert got["read_receipts"]["read_rate"] == pytest.approx(0.7, abs=0.03)
    # the base spec reads per member; the fit is per message, and says so
    assert got["read_receipts"]["per"] == "message"
    assert "per_member_max_members" not in got["read_receipts"]
    delays = got["read_receipts"]["delay_mixture"]
    assert delays["near_term"]["mean_seconds"] == pytest.approx(600, rel=0.1)
    assert delays["delayed"]["lognormal"]["mu"] == pytest.approx(9.6, abs=0.15)
    assert got["messages_per_conversation"]["regular"]["alpha"] == pytest.approx(1.8, abs=0.15)
    assert got["time"]["burst"]["inter_arrival_cv"] == pytest.approx(2.5, abs=0.5)
    assert calibrated.spec.time.diurnal.hourly_profile == tuple(profile)  # validated by parse_spec
    paths = {p.path for p in calibrated.params}
    assert {"media.ratio", "time.diurnal.hourly_profile", "conversations.large_group.alpha"} <= (
        paths
    )
    assert any("membership_zipf_exponent" in note for note in calibrated.notes)


def test_a_dataset_against_its_own_metrics_is_go(evening: tuple[Path, dict[str, Any]]) -> None:
    report = compare_against(evening[0], shape_metrics_of(evening[0], k=2))
    assert report.verdict == "GO", report.reasons
    by_name = {c.name: c for c in report.comparisons}
    assert by_name["message_types"].distance == pytest.approx(0.0, abs=1e-9)
    assert by_name["content_length"].score == pytest.approx(1.0, abs=1e-9)
    assert all(0.0 <= c.score <= 1.0 for c in report.comparisons)


def test_the_default_shape_against_evening_metrics_is_no_go(
    metrics: ShapeMetrics, tmp_path: Path
) -> None:
    out = tmp_path / "default"
    build_dataset(load_spec(), BuildOptions("dev", 0.01, "default", out, workers=1))
    report = compare_against(out, metrics)
    assert report.verdict == "NO-GO"
    assert report.checks["conversation_mix"] == "FAIL"  # 70% DIRECT against 20%: TV 0.5
    by_name = {c.name: c for c in report.comparisons}
    assert by_name["conversation_mix"].distance == pytest.approx(0.5, abs=0.01)
    assert by_name["message_types"].distance == pytest.approx(0.25, abs=0.02)  # 15% media vs 40%
    assert report.checks["media"] == "WARN"  # within twice the tolerance: still NO-GO, critical
    assert any(r.startswith("media (critical)") for r in report.reasons)
    # each reason names the distribution, production's value beside the dataset's, a next step
    mix = next(r for r in report.reasons if r.startswith("conversation_mix (critical) is FAIL"))
    found = re.search(r"conversation_mix \(TV 0\.\d+, (\w+): production ([\d.]+)%, "
                      r"dataset ([\d.]+)%\)", mix)  # fmt: skip
    assert found, mix
    shares = {"direct": (20.0, 70.0)}  # the evening spec's direct share against the default's
    assert found[1] == "direct"
    assert float(found[2]) == pytest.approx(shares["direct"][0], abs=3)
    assert float(found[3]) == pytest.approx(shares["direct"][1], abs=3)
    assert mix.endswith("; next: set conversations.mix and the members per class in the spec")
    # through the installed command: the same lines, and how calibrate helps
    source = tmp_path / "shape.json"
    source.write_text(json.dumps(metrics.raw))
    done = subprocess.run([SYNTHGEN, "validate", str(out), "--against", str(source), "--quiet"],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 3, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("NO-GO against production")
    assert f"  - {mix}" in lines
    assert lines[-1].startswith("  next: `synthgen calibrate METRICS --out SPEC` fits it")


def test_a_dataset_from_the_calibrated_spec_is_go(
    calibrated: Calibration, metrics: ShapeMetrics, tmp_path: Path
) -> None:
    out = tmp_path / "calibrated"
    build_dataset(calibrated.spec, BuildOptions("staging", 0.0025, "other-seed", out, workers=1))
    report = compare_against(out, metrics)
    assert report.verdict == "GO", report.reasons


def test_calibrate_cli_prints_fits_and_writes_a_loadable_spec(
    metrics: ShapeMetrics, calibrated: Calibration, tmp_path: Path
) -> None:
    source = tmp_path / "shape.json"
    source.write_text(json.dumps(metrics.raw))
    out = tmp_path / "spec.json"
    result = CliRunner().invoke(calibrate_command, [str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "conversations.mix.direct" in result.stdout and "KS 0." in result.stdout
    assert f"wrote {out}" in result.stdout
    assert load_spec(out).media.ratio == pytest.approx(0.4, abs=0.01)
    # each figure that moved beyond the tolerance is explained: from what, to what, why, how well
    base_ratio = json.loads(DEFAULT_SPEC_PATH.read_text())["media"]["ratio"]
    fitted = load_spec(out).media.ratio
    lines = result.stdout.splitlines()
    assert "moved beyond 15% of the base spec:" in lines
    moved = next(line for line in lines if line.startswith("  media.ratio "))
    assert moved.startswith(
        f"  media.ratio {base_ratio:.4g} → {fitted:.4g} ({(fitted - base_ratio) / base_ratio:+.0%})"
        ", fitted to production's metrics ("
    )
    mix = next(line for line in lines if line.startswith("  conversations.mix.direct "))
    assert "the model fits production with TV 0." in mix
    # a figure within the tolerance of the base is not listed
    near = [
        p
        for p in calibrated.params
        if type(p.value) in (int, float) and type(p.base) in (int, float) and p.base
        and abs(p.value - p.base) / abs(p.base) <= 0.15
    ]  # fmt: skip
    assert near, "some fitted figure stays near the base"
    for p in near:
        assert not any(line.startswith(f"  {p.path} ") for line in lines), p.path

    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"format": "something-else"}))
    result = CliRunner().invoke(calibrate_command, [str(broken), "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "not a synthgen shape-metrics file" in result.stderr
