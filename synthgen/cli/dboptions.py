"""Options the commands that load into or measure a database share (load, loadtest, verify).

Its own module, not cli/common: it imports the PostgreSQL layer (ADBC), which commands that
never touch a database (generate, validate, plan) must not pay for at start-up.
"""

from __future__ import annotations

import click

from synthgen.postgres.connect import DEFAULT_SCHEMA

dsn_option = click.option(
    "--dsn",
    help="libpq URI of the target database [default: $SYNTHGEN_DSN, else the local cluster of "
    "`synthgen postgres up`, started on demand].",
)
schema_option = click.option(
    "--schema",
    default=DEFAULT_SCHEMA,
    show_default=True,
    help="Target schema: a plain lowercase identifier.",
)
mapped_schema_option = click.option(
    "--schema",
    default=None,
    help=f"Target schema: a plain lowercase identifier [default: {DEFAULT_SCHEMA}, or with "
    "--mapping the mapping's schema].",
)
public_option = click.option(
    "--allow-public", is_flag=True, help="Allow --schema public (refused otherwise)."
)
