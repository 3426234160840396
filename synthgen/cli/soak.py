"""`synthgen soak`: the soak on its own, after a load, the phase-2 indexes and both baselines."""

from __future__ import annotations

from pathlib import Path

import click

from synthgen.cli.common import DomainCommand, exit_for_verdict, quiet_option
from synthgen.cli.dboptions import dsn_option, schema_option
from synthgen.cli.guarding import guard_options, guarded_dsn
from synthgen.cli.progress import StepBar
from synthgen.postgres.guard import GuardSettings


@click.command(cls=DomainCommand)
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--days", type=click.IntRange(1, 366), required=True, help="Simulated days.")
@click.option(
    "--pre",
    "pre_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The baseline before the phase-2 indexes (`verify baseline --label pre`).",
)
@click.option(
    "--post",
    "post_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The baseline after them: the post-soak baseline reuses its parameters.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Where OUT/soak/ (the deltas, soak.json, soak.html) goes.",
)
@dsn_option
@schema_option
@click.option("--runs", type=click.IntRange(1, 1000), default=5, show_default=True)
@guard_options
@quiet_option()
def soak(
    dataset: Path,
    days: int,
    pre_path: Path,
    post_path: Path,
    out: Path,
    dsn: str | None,
    schema: str,
    runs: int,
    guard: GuardSettings,
    quiet: bool,
) -> None:
    """Soak DATASET (loaded into --schema, the phase-2 indexes built) for N simulated days:
    extend and append a day at a time, measure sizes, bloat, dead tuples, vacuum runs, WAL and
    W1 latency, then a post-soak baseline. Exit 0 when the phase-2 gain holds, 3 when not.

    Example: synthgen soak out/dev --days 7 --pre out/pre.json --post out/post.json --out out/s
    """
    from synthgen.files import write_text_atomic
    from synthgen.soak.html import soak_page
    from synthgen.soak.run import SoakOptions, run_soak

    target = guarded_dsn(dsn, schema, guard)
    opts = SoakOptions(target, schema, dataset, out, days, pre_path, post_path, runs, guard=guard)
    with StepBar(quiet=quiet) as bar:
        doc = run_soak(opts, lambda line: None, bar)
    page = write_text_atomic(out / "soak" / "soak.html", soak_page(doc))
    verdict = doc["verdict"]
    click.echo(f"soak: {verdict['decision']} — {'; '.join(verdict['reasons'])}")
    click.echo(f"  {verdict['thresholds']}")
    click.echo(f"report: {page}")
    exit_for_verdict(verdict["decision"])
