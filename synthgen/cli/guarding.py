"""The production guard on the command line: one set of flags for every command that writes to a
database (`load`, `teardown`, `verify baseline`, `indexes apply|rollback`, `run`, `workload`,
`loadtest`), and the check they run before their first write.

`guard_options` adds ``--deny-pattern``, ``--max-foreign-rows`` and
``--i-know-this-is-not-production`` and hands the command one ``guard: GuardSettings`` argument
instead of the three flags. `guarded_dsn` checks the environment rule *before* resolving the DSN
(which may start a local cluster on demand), then the database rules against the server.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from synthgen.postgres.guard import (
    DEFAULT_DENY_PATTERN,
    DEFAULT_MAX_FOREIGN_ROWS,
    OVERRIDE_FLAG,
    GuardSettings,
    check_dsn,
    check_environment,
)


def guard_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add the guard's three flags; the command receives them as `guard: GuardSettings`."""

    @functools.wraps(fn)
    def wrapper(
        *args: Any, override: bool, max_foreign_rows: int, deny_pattern: str, **kwargs: Any
    ) -> Any:
        guard = GuardSettings(deny_pattern, max_foreign_rows, override)
        return fn(*args, guard=guard, **kwargs)

    command: Callable[..., Any] = click.option(
        OVERRIDE_FLAG, "override", is_flag=True, help="Turn the production guard off."
    )(wrapper)
    command = click.option(
        "--max-foreign-rows",
        type=click.IntRange(min=0),
        default=DEFAULT_MAX_FOREIGN_ROWS,
        show_default=True,
        help="Guard: refuse when a table outside the schema holds more rows than this.",
    )(command)
    return click.option(
        "--deny-pattern",
        default=DEFAULT_DENY_PATTERN,
        show_default=True,
        envvar="SYNTHGEN_DENY_PATTERN",
        help="Guard: refuse when the database name or host matches this regex.",
    )(command)


def guarded_dsn(dsn: str | None, schema: str, guard: GuardSettings) -> str:
    """The DSN to write to, once the guard has cleared it (GuardError otherwise).

    The environment rule runs first, so a production environment never starts a local cluster.
    """
    from synthgen.postgres.connect import resolve_dsn

    check_environment(guard)
    target = resolve_dsn(dsn)
    check_dsn(guard, target, schema)
    return target
