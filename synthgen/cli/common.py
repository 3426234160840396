"""Shared CLI plumbing: error mapping, --debug, output helpers."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from synthgen.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    SynthgenError,
    gate_exit_code,
)
from synthgen.shipped import DEFAULT_SPEC_PATH

if TYPE_CHECKING:
    from synthgen.storage import DatasetPath


def exit_for_verdict(decision_or_go: str | bool) -> None:
    """End a gate's command with exit code 3 when its verdict is NO-GO; on GO, return."""
    code = gate_exit_code(decision_or_go)
    if code != EXIT_OK:
        raise click.exceptions.Exit(code)


def run_cli(group: click.Group, args: list[str] | None = None) -> int:
    """Run the CLI: domain errors become one line on stderr; tracebacks only with --debug."""
    argv = list(sys.argv[1:] if args is None else args)
    debug = "--debug" in argv
    try:
        # Without standalone mode click *returns* the code of `ctx.exit(n)` /
        # `raise click.exceptions.Exit(n)` instead of raising it: that return value is the
        # command's exit code (a NO-GO's 3), never to be dropped.
        code = group.main(args=argv, prog_name="synthgen", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except SynthgenError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except Exception as exc:  # an unexpected bug: still one line unless --debug
        if debug:
            raise
        click.echo(
            f"error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", err=True
        )
        return EXIT_FAILED
    return code if isinstance(code, int) else EXIT_OK


class DomainCommand(click.Command):
    """A click command whose SynthgenErrors become ClickExceptions under CliRunner too."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SynthgenError as exc:
            root = ctx.find_root()
            if root.obj and root.obj.get("debug"):
                raise
            raise DomainFailure(str(exc), exc.exit_code) from exc


class DomainFailure(click.ClickException):
    """A domain error surfaced through click, keeping its exit code."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def emit_json(payload: Any) -> None:
    """Write a machine-readable summary to stdout."""
    click.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))


F = TypeVar("F", bound=Callable[..., Any])


class ScaleType(click.ParamType):
    """A float > 0, with a message that names the flag."""

    name = "scale"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            scale = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not scale > 0 or scale != scale or scale == float("inf"):
            self.fail(f"must be a finite number > 0 (got {value})", param, ctx)
        return scale


def with_options(*options: Callable[[F], F]) -> Callable[[F], F]:
    """One decorator applying `options` as if stacked in this order above the function."""

    def apply(fn: F) -> F:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return apply


def quiet_option(help_text: str = "No progress bar.") -> Callable[[F], F]:
    """--quiet, passed as `quiet`."""
    return click.option("--quiet", is_flag=True, help=help_text)


def json_option(help_text: str = "Print a machine-readable summary.") -> Callable[[F], F]:
    """--json: the result as JSON on stdout, passed as `as_json`."""
    return click.option("--json", "as_json", is_flag=True, help=help_text)


def band_option(required: bool = True) -> Callable[[F], F]:
    """--band NAME: a size band of the spec."""
    return click.option(
        "--band", required=required, help="Size band from the spec: dev, staging or perf."
    )


def scale_option() -> Callable[[F], F]:
    """--scale F (> 0), 1 when not given."""
    return click.option(
        "--scale",
        type=ScaleType(),
        default=1.0,
        show_default=True,
        help="Multiply the band's counts.",
    )


def spec_option(
    help_text: str = f"Spec JSON [default: {DEFAULT_SPEC_PATH}].",
) -> Callable[[F], F]:
    """--spec PATH, passed to the command as `spec_path` (None: the default spec)."""
    return click.option("--spec", "spec_path", type=click.Path(path_type=Path), help=help_text)


def workers_option(help_text: str = "Worker processes (default: all cores).") -> Callable[[F], F]:
    """--workers N (N >= 1); None when not given, so the command picks all cores."""
    return click.option("--workers", type=click.IntRange(min=1), default=None, help=help_text)


def storage_options_option() -> Callable[[F], F]:
    """--storage-option KEY=VALUE (repeatable): options of the object store's filesystem."""
    return click.option(
        "--storage-option",
        "storage_options",
        multiple=True,
        metavar="KEY=VALUE",
        help="Option of the object store's filesystem (pyarrow S3FileSystem / GcsFileSystem), "
        "e.g. endpoint_override=127.0.0.1:9000; repeatable. Default: the AWS_* variables.",
    )


def dataset_argument() -> Callable[[F], F]:
    """DATASET_DIR: a directory, file:// URI, or object-store prefix (s3://, gs://)."""
    return click.argument("dataset", metavar="DATASET_DIR")


def open_dataset_dir(dataset: str, storage_options: tuple[str, ...]) -> DatasetPath:
    """The dataset this command reads: a local directory, or the root of an object-store prefix
    (its objects are read where they lie, nothing is copied)."""
    from synthgen.storage import dataset_path, parse_options

    return dataset_path(dataset, parse_options(storage_options))
