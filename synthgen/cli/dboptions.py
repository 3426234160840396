"""Options the commands that load into, measure or sample a database share (load, loadtest,
verify, indexes, sample, run, ...).

Its own module, not cli/common: it imports the PostgreSQL layer (ADBC), which commands that
never touch a database (generate, validate, plan) must not pay for at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from synthgen.postgres.connect import DEFAULT_SCHEMA
from synthgen.verify.queries import DEFAULT_QUERIES

F = TypeVar("F", bound=Callable[..., Any])

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
queries_option = click.option(
    "--queries",
    "queries_dir",
    type=click.Path(path_type=Path),
    help=f"Query directory [default: {DEFAULT_QUERIES}].",
)
mapped_dataset_option = click.option(
    "--dataset",
    "dataset_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --mapping: the dataset the schema holds (default: the one its load recorded).",
)
# `synthgen sample` and `sample statements` read production, never the target database
production_dsn_option = click.option(
    "--dsn",
    envvar="SYNTHGEN_SAMPLE_DSN",
    required=True,
    help="Production's libpq URI, used read-only (or $SYNTHGEN_SAMPLE_DSN).",
)
production_schema_option = click.option(
    "--schema", default=None, help="Production schema [default: the mapping's, else public]."
)
# --plan-mode's choices -> the plan_cache_modes measured
MODES = {"custom": ("custom",), "generic": ("generic",), "both": ("custom", "generic")}


def plan_mode_option(help_text: str) -> Callable[[F], F]:
    """--plan-mode custom|generic|both (default both)."""
    return click.option(
        "--plan-mode",
        type=click.Choice(list(MODES)),
        default="both",
        show_default=True,
        help=help_text,
    )


def pool_options(pool_help: str | None, size_help: str, both: bool = False) -> Callable[[F], F]:
    """--pool none|pgbouncer (|both, for a command that runs both) and --pool-size N."""
    choices = ["none", "pgbouncer", "both"] if both else ["none", "pgbouncer"]
    pool = click.option(
        "--pool", type=click.Choice(choices), default="none", show_default=True, help=pool_help
    )
    size = click.option(
        "--pool-size", type=click.IntRange(min=1), default=10, show_default=True, help=size_help
    )
    return lambda fn: pool(size(fn))
