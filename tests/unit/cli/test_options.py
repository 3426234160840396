"""The flags many commands share mean one thing everywhere: the same help, default and type."""

from __future__ import annotations

import click

from synthgen.cli import cli
from synthgen.cli.statements import statements
from synthgen.postgres.connect import DEFAULT_SCHEMA

TARGET_DSN_HELP = (
    "libpq URI of the target database [default: $SYNTHGEN_DSN, else the local cluster of "
    "`synthgen postgres up`, started on demand]."
)


def _options(flag: str) -> dict[str, click.Option]:
    """Every command's option `flag`, by the command's name."""
    found: dict[str, click.Option] = {}

    def walk(command: click.Command, path: str) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(click.Context(command)):
                sub = command.get_command(click.Context(command), name)
                assert sub is not None
                walk(sub, f"{path} {name}".strip())
        for param in command.params:
            if isinstance(param, click.Option) and flag in param.opts:
                found[path] = param

    walk(cli, "")
    walk(statements, "sample statements")
    return found


def test_every_command_that_connects_to_the_target_documents_dsn_alike() -> None:
    dsn = _options("--dsn")
    production = {"sample", "sample statements"}  # production, read-only: not the target
    assert {"load", "run", "indexes apply", "mapping init", "postgres migrate"} <= set(dsn)
    for name, option in dsn.items():
        if name in production:
            assert option.envvar == "SYNTHGEN_SAMPLE_DSN" and option.required, name
        elif name != "plan":  # plan only reads the server's free disk
            assert option.help == TARGET_DSN_HELP, name


def test_a_defaulted_target_schema_is_the_same_everywhere() -> None:
    schemas = {n: o for n, o in _options("--schema").items() if o.default == DEFAULT_SCHEMA}
    assert {"teardown", "indexes apply", "indexes rollback", "soak"} <= set(schemas)
    for name, option in schemas.items():
        if name != "run":  # run replaces its schema, and says so
            assert option.help == "Target schema: a plain lowercase identifier.", name
            assert option.show_default, name


def test_json_and_quiet_are_flags_with_one_parameter_name() -> None:
    for option in _options("--json").values():
        assert option.name in {"as_json", "json_path"}
        assert option.is_flag == (option.name == "as_json")
    quiet = _options("--quiet")
    assert {"generate", "load", "indexes apply", "soak", "loadtest"} <= set(quiet)
    assert all(o.is_flag and o.name == "quiet" for o in quiet.values())


def test_pool_size_defaults_alike_and_plan_mode_offers_the_same_choices() -> None:
    sizes = _options("--pool-size")
    assert set(sizes) == {"indexes rehearse", "loadtest", "run"}
    assert {o.default for o in sizes.values()} == {10}
    modes = _options("--plan-mode")
    assert set(modes) == {"verify baseline", "verify compare", "run"}
    for option in modes.values():
        assert isinstance(option.type, click.Choice)
        assert list(option.type.choices) == ["custom", "generic", "both"]
        assert option.default == "both"
