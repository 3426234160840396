"""End to end: production (personal data, its own shape) -> sample -> calibrate -> generate ->
validate --against, proving the loop closes (GO, production's shape recovered) and that nothing
personal crosses it (`make e2e` runs this file)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.cli.calibrate import calibrate
from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.sample.pii import find_pii
from synthgen.spec import load_spec

pytestmark = pytest.mark.postgres
# production's shape as built by production.sql (see support.production: TRUTH and HOUR_WEIGHTS)
TRUE_MIX = {"direct": 0.2, "small_group": 0.5, "large_group": 0.3}
TRUE_MEDIA_RATIO = 0.40
EVENING_PEAK = {19, 20, 21}
STAGING_SCALE = 1 / 300  # the staging band's 333 messages per conversation, as production's


@dataclass(frozen=True)
class Pipeline:
    metrics_path: Path
    spec_path: Path
    dataset: Path
    calibrate_stdout: str
    verdict_exit: int
    verdict_stdout: str
    report: dict[str, Any]  # validate --against's JSON report


@pytest.fixture(scope="module")
def pipeline(sampled: Any, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """sample (session fixture) -> calibrate -> generate -> validate --against."""
    work = tmp_path_factory.mktemp("e2e")
    spec_path = work / "calibrated-spec.json"
    result = CliRunner().invoke(
        calibrate, [str(sampled.metrics_path), "--out", str(spec_path)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    dataset = work / "synthetic"
    build_dataset(
        load_spec(spec_path), BuildOptions("staging", STAGING_SCALE, "e2e", dataset, workers=1)
    )
    report_path = work / "against.json"
    args = ["validate", str(dataset), "--against", str(sampled.metrics_path)]
    verdict = CliRunner().invoke(cli, [*args, "--json", str(report_path)])
    report = json.loads(report_path.read_text())
    return Pipeline(
        sampled.metrics_path,
        spec_path,
        dataset,
        result.stdout,
        verdict.exit_code,
        verdict.stdout,
        report,
    )


def test_the_pipeline_is_go(pipeline: Pipeline) -> None:
    report = pipeline.report
    assert report["verdict"] == "GO", report["reasons"]
    assert pipeline.verdict_exit == 0 and "GO against production" in pipeline.verdict_stdout
    assert "conversation_mix*" in pipeline.verdict_stdout  # the table, critical checks starred
    for check in report["critical"]:
        assert report["checks"][check] == "PASS", check
    by_name = {c["name"]: c for c in report["comparisons"]}
    assert len(by_name) == 24 and all(0.0 <= c["score"] <= 1.0 for c in by_name.values())
    for name in ("conversation_mix", "message_types", "hour_of_day", "content_length",
                 "messages_per_conversation", "receipt_delay_seconds"):  # fmt: skip
        assert by_name[name]["score"] >= 0.9, (name, by_name[name]["distance"])


def test_calibration_recovers_productions_shape(pipeline: Pipeline) -> None:
    spec = json.loads(pipeline.spec_path.read_text())
    mix = spec["conversations"]["mix"]
    for key, share in TRUE_MIX.items():
        assert abs(mix[key] - share) <= 0.03, (key, mix[key])
    assert abs(spec["media"]["ratio"] - TRUE_MEDIA_RATIO) <= 0.02
    profile = spec["time"]["diurnal"]["hourly_profile"]
    top3 = set(sorted(range(24), key=lambda h: -profile[h])[:3])
    assert top3 == EVENING_PEAK
    assert all(start >= 18 and end <= 23 for start, end in spec["time"]["diurnal"]["peak_hours"])
    assert spec["time"]["diurnal"]["peak_to_trough"] > 5  # evening-only: a sharp peak
    assert spec["bands"] == load_spec().raw["bands"]  # bands are the base spec's
    # the rest of the shape, fitted in the generator's own parametrisation
    c, m = spec["conversations"], spec["messages_per_conversation"]
    assert c["small_group"]["geometric_p"] == pytest.approx(0.35, abs=0.05)
    assert c["large_group"]["alpha"] == pytest.approx(2.2, abs=0.35)
    assert m["regular"]["alpha"] == pytest.approx(1.6, abs=0.1)
    assert (m["heavy"]["fraction"], m["heavy"]["min_messages"]) == (0.05, 3000)
    assert m["heavy"]["alpha"] == pytest.approx(2.5, abs=0.5)
    length = spec["content"]["length_lognormal"]
    assert (length["mu"], length["sigma"]) == pytest.approx((3.8, 0.9), abs=0.05)
    assert spec["time"]["burst"]["inter_arrival_cv"] == pytest.approx(3.0, abs=0.6)
    r = spec["read_receipts"]
    assert r["read_rate"] == pytest.approx(0.7, abs=0.03)
    shares = [
        r["delay_mixture"][b]["share"] for b in ("immediate", "near_term", "delayed", "stale")
    ]
    assert shares == pytest.approx([0.20, 0.30, 0.35, 0.15], abs=0.02)
    assert r["delay_mixture"]["near_term"]["mean_seconds"] == pytest.approx(900, rel=0.1)
    assert "media.ratio" in pipeline.calibrate_stdout and "KS 0." in pipeline.calibrate_stdout


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (str(k), *_strings(v))]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


def test_metrics_and_spec_hold_no_production_string_and_no_pii(
    pipeline: Pipeline, sampled: Any, production_strings: Any
) -> None:
    for path in (pipeline.metrics_path, sampled.audit_path, pipeline.spec_path):
        text = path.read_text()
        leaked = [s for s in production_strings.needles() if s and s in text]
        assert leaked == [], (path.name, leaked[:3])
        found = {p for s in _strings(json.loads(text)) for p in find_pii(s)}
        assert found == set(), (path.name, found)
    bodies = production_strings.bodies.column("body").to_pylist()
    text = pipeline.metrics_path.read_text() + pipeline.spec_path.read_text()
    assert not any(len(b) >= 8 and b in text for b in bodies)


def test_the_synthetic_dataset_holds_none_of_productions_data(
    pipeline: Pipeline, production_strings: Any
) -> None:
    con = duckdb.connect()
    for table in ("users", "conversations", "messages", "attachments"):
        files = f"{pipeline.dataset}/{table}/*.parquet"
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{files}')")
    con.register("prod_bodies", production_strings.bodies)
    for name, values in (("prod_emails", production_strings.emails),
                         ("prod_names", production_strings.full_names),
                         ("prod_phones", production_strings.phones),
                         ("prod_titles", production_strings.titles)):  # fmt: skip
        con.execute(f"CREATE TABLE {name} AS SELECT unnest(?::VARCHAR[]) AS v", [values])

    def count(sql: str) -> int:
        return int(con.execute(sql).fetchone()[0])  # type: ignore[index]

    assert count("SELECT count(*) FROM messages") > 300_000
    # exact copies of any production value
    assert count("SELECT count(*) FROM users JOIN prod_emails ON email = v") == 0
    assert count("SELECT count(*) FROM users JOIN prod_names ON displayName = v") == 0
    assert count("SELECT count(*) FROM conversations JOIN prod_titles ON title = v") == 0
    assert count("SELECT count(*) FROM messages JOIN prod_bodies ON content = body") == 0
    # and no fragment: synthetic text has no digit, no '@' (so no email, phone or card number),
    # and none of production's names or email domains appear anywhere in it
    texts = (
        "SELECT content AS t FROM messages UNION ALL SELECT displayName FROM users "
        "UNION ALL SELECT title FROM conversations UNION ALL SELECT storageKey FROM attachments"
    )
    names = "|".join(production_strings.names)
    assert count(f"SELECT count(*) FROM ({texts}) WHERE regexp_matches(t, '\\b({names})\\b')") == 0
    assert count("SELECT count(*) FROM messages WHERE regexp_matches(content, '[0-9@]')") == 0
    domains = "|".join(d.replace(".", "\\.") for d in production_strings.domains)
    assert count(f"SELECT count(*) FROM ({texts}) WHERE regexp_matches(t, '{domains}')") == 0
    # every synthetic email is on a reserved domain
    assert count("SELECT count(*) FROM users WHERE NOT regexp_matches(email, "
                 "'@(example\\.(com|org|net)|[a-z.]*\\.test)$')") == 0  # fmt: skip
