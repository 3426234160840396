"""``synthgen teardown``: drop what a load made in a schema (and nothing else), after showing it."""

from __future__ import annotations

from typing import Any

import click

from synthgen.cli.common import DomainCommand
from synthgen.cli.dboptions import dsn_option, public_option, schema_option
from synthgen.cli.guarding import guard_options
from synthgen.postgres.connect import resolve_dsn
from synthgen.postgres.guard import GuardSettings, check_environment


def _describe(contents: Any) -> list[str]:
    lines = [f"schema {contents.schema} holds {contents.total_bytes / 1e6:,.1f} MB:"]
    for rel in contents.relations:
        rows = "?" if rel.estimated_rows is None else f"~{rel.estimated_rows:,}"
        lines.append(f"  {rel.kind:<10} {rel.name:<26} {rows:>14} rows {rel.bytes / 1e6:>10.1f} MB")
    lines += [f"  {obj}" for obj in contents.other_objects]
    if contents.mapped is not None:
        lines.append(
            f"  (loaded through a mapping; audit trail in schema {contents.mapped.audit_schema})"
        )
    elif contents.schema == "public":
        lines.append("  (public itself stays; only synthgen's tables are dropped)")
    return lines


@click.command(cls=DomainCommand)
@dsn_option
@schema_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--drop-app-schema",
    is_flag=True,
    help="For a schema loaded with --mapping: drop the whole schema (a scratch schema your "
    "migrations made) instead of emptying the tables synthgen loaded.",
)
@public_option
@guard_options
def teardown(
    dsn: str | None,
    schema: str,
    yes: bool,
    drop_app_schema: bool,
    allow_public: bool,
    guard: GuardSettings,
) -> None:
    """Drop a schema synthgen loaded (and nothing else), after showing what it holds.

    For an application schema loaded with --mapping, empty the tables synthgen loaded there (or,
    with --drop-app-schema, drop the schema) and drop its audit schema synthgen_<schema>.

    Example: synthgen teardown --schema perf_synthetic --yes

    Example: synthgen teardown --schema app --drop-app-schema --yes
    """
    from synthgen.load.teardown import teardown_schema

    shown: list[Any] = []

    def confirm(contents: Any) -> bool:
        for line in _describe(contents):
            click.echo(line)
        shown.append(contents)
        return yes or click.confirm(f"{contents.action}?", default=False)

    check_environment(guard)  # before starting a local cluster on demand
    done = teardown_schema(resolve_dsn(dsn), schema, guard, allow_public, confirm, drop_app_schema)
    if done is None:
        click.echo(f"schema {schema} does not exist; nothing to drop")
    elif done:
        click.echo(shown[-1].done)
    else:
        click.echo("nothing dropped")
