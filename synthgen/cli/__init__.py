"""Command-line interface: thin click commands over the library.

Each command group lives in its own module and is registered here in one table. A command's
module is imported only when that command runs (or help lists it): `synthgen generate` never
pays for importing DuckDB, ADBC or the fidelity gate.
"""

from __future__ import annotations

import importlib
import sys

import click

from synthgen import __version__
from synthgen.cli.common import run_cli

# command name -> "module:attribute", in the order `synthgen --help` lists them
COMMANDS: dict[str, str] = {
    "plan": "synthgen.cli.plan:plan",
    "generate": "synthgen.cli.generate:generate",
    "extend": "synthgen.cli.extend:extend",
    "validate": "synthgen.cli.validate:validate",
    "load": "synthgen.cli.load:load",
    "teardown": "synthgen.cli.teardown:teardown",
    "postgres": "synthgen.cli.postgres:postgres",
    "verify": "synthgen.cli.verify:verify",
    "indexes": "synthgen.cli.indexes:indexes",
    "sample": "synthgen.cli.sample:sample",
    "calibrate": "synthgen.cli.calibrate:calibrate",
    "workload": "synthgen.cli.loadtest:workload",
    "loadtest": "synthgen.cli.loadtest:loadtest",
    "run": "synthgen.cli.run:run",
    "soak": "synthgen.cli.soak:soak",
    "mapping": "synthgen.cli.mapping:mapping",
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when the command is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="synthgen")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Production-shaped synthetic chat data for PostgreSQL index work.

    Example: synthgen generate --band dev --scale 0.01 --out out/dev
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main() -> None:
    """Console entry point: map domain errors to one-line messages and exit codes."""
    sys.exit(run_cli(cli))
