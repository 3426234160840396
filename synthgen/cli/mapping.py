"""`synthgen mapping init`: a starting mapping from an application's existing schema."""

from __future__ import annotations

from pathlib import Path

import click

from synthgen.cli.common import DomainCommand
from synthgen.cli.dboptions import dsn_option
from synthgen.errors import SynthgenError
from synthgen.files import write_json_atomic
from synthgen.postgres.connect import resolve_dsn


@click.group()
def mapping() -> None:
    """Mappings between the dataset contract and an application's schema.

    Example: synthgen mapping init --dsn postgresql://me@localhost/app_dev --schema public
    """


@mapping.command("init", cls=DomainCommand)
@dsn_option
@click.option("--schema", required=True, help="The application's schema (made by its migrations).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("mapping.json"),
    show_default=True,
    help="Where to write the mapping (refused if it exists, unless --force).",
)
@click.option("--force", is_flag=True, help="Overwrite --out.")
def init(dsn: str | None, schema: str, out: Path, force: bool) -> None:
    """Introspect SCHEMA and write a starting mapping: tables, columns, id formats and enum
    labels matched by name and type; prints what it could not match. Reads only.

    Example: synthgen mapping init --schema app --out app.json && synthgen load DS --mapping
    app.json --plan
    """
    from synthgen.appschema.catalog import read_catalog
    from synthgen.appschema.init import init_mapping
    from synthgen.postgres.connect import connect

    if out.exists() and not force:
        raise SynthgenError(f"--out {out}: exists; pass --force to overwrite it")
    conn = connect(resolve_dsn(dsn), autocommit=True)
    try:
        catalog = read_catalog(conn, schema)
    finally:
        conn.close()
    if not catalog.tables:
        raise SynthgenError(f"--schema {schema}: has no tables (run your migrations first)")
    result = init_mapping(catalog)
    write_json_atomic(out, result.mapping)
    for line in result.matched:
        click.echo(f"  matched   {line}")
    for line in result.unmatched:
        click.echo(f"  unmatched {line}")
    click.echo(f"wrote {out}: check it, then `synthgen load DATASET --mapping {out} --plan`")
