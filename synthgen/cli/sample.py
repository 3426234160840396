"""`synthgen sample`: production's shape, privately (`cli/calibrate.py` fits a spec to it)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from synthgen.cli.common import DomainCommand, emit_json, json_option
from synthgen.cli.dboptions import production_dsn_option, production_schema_option
from synthgen.mapping import load_mapping
from synthgen.sample.histograms import Thresholds
from synthgen.sample.sampler import SampleOptions, SampleResult, sample_shape


class SampleCommand(DomainCommand):
    """`synthgen sample` measures shape; `synthgen sample statements ...` captures statements."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        if args and args[0] == "statements":
            from synthgen.cli.statements import statements

            return statements.make_context("sample statements", args[1:], parent=parent, **extra)
        return super().make_context(info_name, args, parent, **extra)


@click.command("sample", cls=SampleCommand)
@production_dsn_option
@production_schema_option
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON mapping the contract's tables, columns and enum values to production's.",
)
@click.option(
    "--window-days",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Days of messages to measure, ending at --window-end.",
)
@click.option(
    "--window-end",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S"]),
    default=None,
    metavar="DATE",
    help="End of the window (exclusive, UTC): YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, to measure "
    "a snapshot taken earlier [default: today 00:00 UTC].",
)
@click.option(
    "--min-bucket-count",
    "k",
    type=click.IntRange(min=2),
    default=10,
    show_default=True,
    help="K: buckets with fewer members are merged or suppressed.",
)
@click.option(
    "--epsilon",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Add Laplace noise with this privacy budget, split across the histograms.",
)
@click.option(
    "--statement-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=300.0,
    show_default=True,
    help="Seconds any one statement may run.",
)
@click.option(
    "--large-group-min",
    type=click.IntRange(min=4),
    default=21,
    show_default=True,
    help="Members from which a group conversation counts as large.",
)
@click.option(
    "--heavy-min-messages",
    type=click.IntRange(min=2),
    default=10_000,
    show_default=True,
    help="Messages in the window from which a room counts as heavy.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the shape metrics (its audit manifest goes beside it).",
)
@json_option()
def sample(
    dsn: str,
    schema: str | None,
    mapping: Path | None,
    window_days: int,
    window_end: datetime | None,
    k: int,
    epsilon: float | None,
    statement_timeout: float,
    large_group_min: int,
    heavy_min_messages: int,
    out: Path,
    as_json: bool,
) -> None:
    """Measure production's shape with aggregate-only SQL, without exporting personal data.

    Runs in one read-only transaction with a statement timeout; the server computes every
    histogram. Needs ANONYMIZATION_SALT (only its fingerprint is recorded). Writes OUT and,
    beside it, an audit manifest (masked DSN, query hashes, rows scanned, K and epsilon).

    `synthgen sample statements --help`: capture production's statements from
    pg_stat_statements as query files instead.

    \b
    Example: export ANONYMIZATION_SALT=$(openssl rand -hex 32)
             synthgen sample --dsn postgresql://reader@db/app --out shape-metrics.json
    """
    options = SampleOptions(
        dsn=dsn,
        out=out,
        mapping=load_mapping(mapping, schema),
        thresholds=Thresholds(window_days, large_group_min, heavy_min_messages),
        min_bucket_count=k,
        epsilon=epsilon,
        statement_timeout_s=statement_timeout,
        window_end=None if window_end is None else window_end.replace(tzinfo=UTC),
    )
    result = sample_shape(options)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    summary = _sample_summary(result)
    if as_json:
        emit_json(summary)
        return
    click.echo(
        f"sampled {summary['messages']:,} messages in {summary['conversations']:,} conversations "
        f"({summary['window']['start']} to {summary['window']['end']})"
    )
    click.echo(
        f"wrote {out} ({summary['histograms']} histograms; {summary['merged_buckets']} small "
        f"buckets merged, {summary['suppressed_categories']} small categories suppressed; "
        f"K={k}, epsilon={epsilon if epsilon is not None else 'off'})"
    )
    click.echo(
        f"wrote {result.audit_path} ({len(result.audit['queries'])} read-only queries, "
        f"{result.audit['rows_scanned']:,} rows scanned)"
    )


def _sample_summary(result: SampleResult) -> dict[str, Any]:
    hist = result.metrics["histograms"]
    return {
        "out": str(result.out),
        "audit": str(result.audit_path),
        "window": result.metrics["window"],
        "messages": sum(hist["message_types"].get("counts", {}).values()),
        "conversations": sum(hist["conversation_mix"].get("counts", {}).values()),
        "histograms": len(hist),
        "merged_buckets": sum(h.get("merged_buckets", 0) for h in hist.values()),
        "suppressed_categories": sum(
            len(h["suppressed"]) for h in hist.values() if isinstance(h.get("suppressed"), list)
        ),
        "rows_scanned": result.audit["rows_scanned"],
        "salt_fingerprint": result.metrics["privacy"]["salt_fingerprint"],
        "warnings": result.warnings,
    }
