"""The extension gate: a base and its deltas judged together (`synthgen validate BASE DELTA...`).

Expectations come from the spec and the data before each seam, with this module's own code (the
gate never imports the generator): daily messages of the rooms that existed at the seam, new
users and rooms, churn (Poisson or binomial around the spec's rates), and the rules that must
hold exactly (times inside the extension, createdAt rising per room across every seam, no read
or message after a delete or a leave, every foreign key resolving). See docs/extend.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from synthgen.errors import DatasetError
from synthgen.fidelity.extension_checks import churn_findings, exact_findings, rate_findings
from synthgen.fidelity.extension_model import TABLES, ChainReport, Finding, Intensity
from synthgen.manifest import describe_problems, file_entries, file_problems, read_manifest
from synthgen.schema import quote_literal
from synthgen.spec import Spec, parse_spec
from synthgen.units import US_PER_DAY


def _chain(base: Path, deltas: list[Path]) -> tuple[Spec, list[dict[str, Any]]]:
    """The manifests, each delta checked to extend the one before it, every file verified."""
    manifests = [read_manifest(base)]
    if "extension" in manifests[0]:
        raise DatasetError(f"{base}: is an extension, not a base dataset")
    for path in deltas:
        manifest = read_manifest(path)
        ext = manifest.get("extension")
        if not isinstance(ext, dict):
            raise DatasetError(f"{path}: is not an extension (its manifest has no 'extension')")
        previous = manifests[-1]["dataset_sha256"]
        if ext.get("parent_dataset_sha256") != previous:
            raise DatasetError(
                f"{path}: extends dataset {str(ext.get('parent_dataset_sha256'))[:12]}, not the "
                f"one before it on the command line ({previous[:12]})"
            )
        manifests.append(manifest)
    for root, manifest in zip([base, *deltas], manifests, strict=True):
        problems = file_problems(root, file_entries(manifest))
        if problems:
            raise DatasetError(f"{root}: {describe_problems(problems)}")
    return parse_spec(manifests[0]["spec"], source=f"{base} (inline spec)"), manifests


def _views(
    con: duckdb.DuckDBPyConnection, roots: list[Path], manifests: list[dict[str, Any]]
) -> None:
    """d{i}_{table} per dataset (d0 the base), empty where a dataset has no file of the table."""
    for i, (root, manifest) in enumerate(zip(roots, manifests, strict=True)):
        for table in (*TABLES, "changes"):
            files = [str(root / e["path"]) for e in manifest["files"] if e["table"] == table]
            if files:
                listed = ", ".join(quote_literal(f) for f in files)
                con.execute(f"CREATE VIEW d{i}_{table} AS SELECT * FROM read_parquet([{listed}])")
            elif table == "changes":
                con.execute(
                    f'CREATE VIEW d{i}_changes AS SELECT NULL::TIMESTAMPTZ AS "changedAt", '
                    '\'\'::VARCHAR AS op, 0::BIGINT AS "messageId", 0::BIGINT AS "conversationId",'
                    ' 0::BIGINT AS "userId", NULL::VARCHAR AS content WHERE false'
                )


def judge_chain(base: Path, deltas: list[Path]) -> ChainReport:
    """Every delta judged against the base and the deltas before it."""
    spec, manifests = _chain(base, deltas)
    con = duckdb.connect()
    _views(con, [base, *deltas], manifests)
    window_start = spec.time.snapshot_us - spec.time.window_days * US_PER_DAY
    last_end = int(manifests[-1]["extension"]["end_us"])
    intensity = Intensity(spec, window_start, last_end)
    findings: list[Finding] = []
    for k, manifest in enumerate(manifests[1:], start=1):
        ext = manifest["extension"]
        span = (int(ext["start_us"]), int(ext["end_us"]))
        tag = f"ext{k}"
        findings += exact_findings(con, k, span, tag)
        findings += rate_findings(con, spec, manifests[0], intensity, k, span, tag)
        findings += churn_findings(con, spec, k, span, tag)
    return ChainReport(findings)
