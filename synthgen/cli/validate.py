"""`synthgen validate`: the fidelity gate — GO / NO-GO for a dataset against its spec."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from synthgen.cli.ci import ci_options, fidelity_ci, write_ci
from synthgen.cli.common import (
    DomainCommand,
    F,
    dataset_argument,
    open_dataset_dir,
    quiet_option,
    spec_option,
    storage_options_option,
)
from synthgen.errors import DatasetError, gate_exit_code
from synthgen.fidelity import parse_tolerance, validate_dataset
from synthgen.fidelity.dataset import DEFAULT_MEMORY_LIMIT
from synthgen.fidelity.html import write_html
from synthgen.fidelity.report import (
    REPORT_NAME,
    render_brief,
    render_decision,
    render_table,
    write_json,
)
from synthgen.fidelity.results import ToleranceError
from synthgen.files import write_json_atomic
from synthgen.gate import DEFAULT_TOLERANCE_NAME, TOLERANCES
from synthgen.spec import DEFAULT_SPEC_PATH, load_spec
from synthgen.storage import DatasetPath


class ToleranceType(click.ParamType):
    """strict | normal | relaxed | a fraction in (0, 1]."""

    name = "tolerance"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        """The relative tolerance as a fraction; a usage error (exit 2) names the flag."""
        if isinstance(value, float):
            return value
        try:
            return parse_tolerance(value)
        except ToleranceError as exc:
            self.fail(str(exc).removeprefix("--tolerance: "), param, ctx)


def tolerance_option(help_text: str) -> Callable[[F], F]:
    """--tolerance NAME|FRACTION, passed as a fraction."""
    return click.option(
        "--tolerance",
        type=ToleranceType(),
        default=DEFAULT_TOLERANCE_NAME,
        show_default=True,
        help=help_text,
    )


@click.command(cls=DomainCommand)
@dataset_argument()
@click.argument("deltas", nargs=-1, metavar="[DELTA_DIR]...")
@storage_options_option()
@spec_option(f"Spec JSON to validate against [default: {DEFAULT_SPEC_PATH}].")
@tolerance_option(
    "Relative tolerance: "
    + ", ".join(f"{name} ({value:.0%})" for name, value in TOLERANCES.items())
    + " or a fraction, e.g. 0.1."
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path),
    help=f"Also write the JSON report here (it is always saved as DATASET_DIR/{REPORT_NAME}).",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path),
    help="Write a self-contained HTML report.",
)
@quiet_option("Print only the decision, not the table.")
@click.option(
    "--memory-limit",
    default=DEFAULT_MEMORY_LIMIT,
    show_default=True,
    help="DuckDB's memory cap (e.g. 2GiB, 500MB); beyond it joins and windows spill to disk.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    help="DuckDB threads (default: all cores).",
)
@click.option(
    "--temp-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where DuckDB spills (default: DATASET_DIR/.synthgen/, the system's temporary "
    "directory for a dataset on object storage); removed afterwards.",
)
@click.option(
    "--against",
    "against_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Compare with production's shape metrics (from `synthgen sample`) instead of the spec "
    "(KS / TV distances, same tolerance rules; --spec and --html do not apply).",
)
@ci_options
@click.pass_context
def validate(
    ctx: click.Context,
    dataset: str,
    deltas: tuple[str, ...],
    storage_options: tuple[str, ...],
    spec_path: Path | None,
    tolerance: float,
    json_path: Path | None,
    html_path: Path | None,
    quiet: bool,
    memory_limit: str,
    threads: int | None,
    temp_dir: Path | None,
    against_path: Path | None = None,
    ci: tuple[Path | None, Path | None] = (None, None),
) -> None:
    """Check a dataset against its spec with DuckDB and decide GO / NO-GO. Given extensions
    (DELTA_DIR..., from `synthgen extend`), judge the base and its deltas together instead.

    Exit 0 on GO, 3 on NO-GO, 1 when the dataset or spec cannot be read.

    Example: synthgen validate out/dev --html out/dev/fidelity.html
    """
    if deltas:  # a base and its extensions, judged together
        from synthgen.cli.extension_gate import validate_chain

        ctx.exit(validate_chain(Path(dataset), [Path(d) for d in deltas], json_path, quiet))
    dataset_dir = open_dataset_dir(dataset, storage_options)
    if against_path is not None:  # production's shape metrics instead of the spec
        ctx.exit(_run_against(dataset_dir, against_path, tolerance, json_path, quiet))
    spec = load_spec(spec_path)
    report = validate_dataset(
        dataset_dir,
        spec,
        tolerance,
        spec_path=str(spec_path or DEFAULT_SPEC_PATH),
        threads=threads,
        memory_limit=memory_limit,
        temp_dir=temp_dir,
    )
    try:
        write_json(report, dataset_dir / REPORT_NAME)
    except DatasetError as exc:  # a read-only dataset still gets its verdict
        click.echo(f"warning: {exc}", err=True)
    if json_path is not None:
        write_json(report, json_path)
    if html_path is not None:
        write_html(report, html_path)
    if not quiet:
        click.echo(render_table(report))
        click.echo()
        click.echo(render_brief(report))
        click.echo()
    click.echo(render_decision(report))
    if any(ci):
        links = [("fidelity report", html_path)] if html_path else []
        write_ci(fidelity_ci(report.to_dict(), links), *ci)
    ctx.exit(report.exit_code)


def _run_against(
    dataset: DatasetPath, metrics: Path, tolerance: float, json_path: Path | None, quiet: bool
) -> int:
    """`synthgen validate DATASET --against METRICS`: compare, print, optionally save; exit code."""
    from synthgen.sample.against import compare_against
    from synthgen.sample.against_report import render_against, render_verdict

    report = compare_against(dataset, metrics, tolerance)
    if json_path is not None:
        write_json_atomic(json_path, report.to_dict(), sort_keys=True)
    if not quiet:
        click.echo(render_against(report))
        click.echo()
    click.echo(render_verdict(report))
    return gate_exit_code(report.go)
