"""Command-line interface: thin click commands over the library.

Each command group lives in its own module and is registered here in one list.
"""

from __future__ import annotations

import sys

import click

from synthgen import __version__
from synthgen.cli.common import run_cli
from synthgen.cli.generate import generate
from synthgen.cli.load import load, teardown
from synthgen.cli.postgres import postgres
from synthgen.cli.run import run
from synthgen.cli.sample import calibrate, sample
from synthgen.cli.validate import validate
from synthgen.cli.verify import indexes, verify


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="synthgen")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Production-shaped synthetic chat data for PostgreSQL index work.

    Example: synthgen generate --band dev --scale 0.01 --out out/dev
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


COMMANDS: list[click.Command] = [
    generate,
    validate,
    load,
    teardown,
    postgres,
    verify,
    indexes,
    sample,
    calibrate,
    run,
]
for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    """Console entry point: map domain errors to one-line messages and exit codes."""
    sys.exit(run_cli(cli))
