"""`synthgen generate`: build a dataset of sharded Parquet files."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from synthgen.cli.common import (
    DomainCommand,
    ScaleType,
    band_option,
    emit_json,
    json_option,
    quiet_option,
    spec_option,
    storage_options_option,
    workers_option,
)
from synthgen.generate.build import BuildOptions, BuildProgress, build_dataset
from synthgen.generate.dask_executor import DaskPool
from synthgen.generate.rebuild import FlagConflict, is_extension, recorded_build
from synthgen.generate.write import COMPRESSIONS
from synthgen.machine import default_workers
from synthgen.spec import Spec, load_spec
from synthgen.storage import is_remote, local_path, open_store, parse_options, staging_dir


def _progress_callback(quiet: bool) -> tuple[Any, Any]:
    if quiet:
        return None, None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("shards"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    task_id = progress.add_task("generate", total=None, rate="")

    first: list[int] = []  # messages already there when the bar started (a resumed build)

    def update(done: BuildProgress) -> None:
        if not progress.live.is_started:
            progress.start()  # only once building starts: input errors print no bar
            first.append(done.messages_done)
        elapsed = progress.tasks[0].elapsed or 0.0
        built = done.messages_done - first[0]
        rate = f"{built / elapsed / 1e6:.2f} M messages/s" if elapsed > 0.05 and built else ""
        progress.update(task_id, completed=done.shards_done, total=done.shards_total, rate=rate)

    return progress, update


def _resolve(
    band: str | None,
    scale: float | None,
    seed: str | None,
    spec_path: Path | None,
    compression: str | None,
    from_manifest: Path | None,
) -> tuple[Spec, str, float, str, str, str | None]:
    if from_manifest is not None:
        try:
            r = recorded_build(from_manifest, band, scale, seed, spec_path, compression)
        except FlagConflict as exc:  # click's usage error: the usage line, then exit 2
            raise click.UsageError(str(exc)) from exc
        return r.spec, r.band, r.scale, r.seed, r.compression, None
    if band is None:
        raise click.UsageError("Missing option '--band' (or give --from-manifest).")
    spec = load_spec(spec_path)
    spec.band(band)
    return (
        spec,
        band,
        1.0 if scale is None else scale,
        seed or "0",
        compression or "zstd",
        str(spec_path) if spec_path else None,
    )


@click.command(cls=DomainCommand)
@band_option(required=False)
@click.option("--scale", type=ScaleType(), help="Multiply the band's counts by F (> 0). Default 1.")
@click.option("--seed", help="Seed text; the same seed gives byte-identical files. Default 0.")
@spec_option()
@click.option(
    "--out",
    default="out",
    show_default=True,
    help="Dataset directory, or an object-store prefix (s3://bucket/prefix, gs://...).",
)
@workers_option()
@click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Run shard tasks in local processes, or on a Dask cluster (pip install 'synthgen[dask]').",
)
@click.option(
    "--scheduler",
    default="local",
    show_default=True,
    help="With --executor dask: tcp://host:8786, or `local` for a LocalCluster of --workers "
    "processes on 127.0.0.1.",
)
@storage_options_option()
@click.option(
    "--compression",
    type=click.Choice(COMPRESSIONS),
    default=None,
    help="Parquet compression (default zstd).",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing dataset in --out.")
@click.option(
    "--from-manifest",
    type=click.Path(path_type=Path),
    help="Rebuild the dataset a manifest describes, byte for byte.",
)
@quiet_option()
@json_option("Print a machine-readable summary on stdout.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the plan (rows, sizes, times, --out's free disk) as `synthgen plan` does; "
    "generate nothing.",
)
def generate(
    band: str | None,
    scale: float | None,
    seed: str | None,
    spec_path: Path | None,
    out: str,
    workers: int | None,
    executor: str,
    scheduler: str,
    storage_options: tuple[str, ...],
    compression: str | None,
    overwrite: bool,
    from_manifest: Path | None,
    quiet: bool,
    as_json: bool,
    dry_run: bool,
) -> None:
    """Generate a production-shaped chat dataset as sharded Parquet.

    Example: synthgen generate --band dev --scale 0.01 --seed 42 --out out/dev-small
    """
    if from_manifest is not None and is_extension(from_manifest):
        from synthgen.cli.extend import rebuild

        rebuild(from_manifest, out, workers or default_workers(), overwrite, as_json)
        return
    spec, band_name, scale_value, seed_text, comp, spec_arg = _resolve(
        band, scale, seed, spec_path, compression, from_manifest
    )
    if dry_run and is_remote(out):
        raise click.UsageError(
            f"--dry-run checks --out's free disk, which an object store ({out}) has not; "
            "`synthgen plan` prints the rows, sizes and times"
        )
    if dry_run:
        from synthgen.cli.plan import print_preview
        from synthgen.preview import DEFAULT_MIN_FREE, make_preview
        from synthgen.preview.figures import parse_size

        min_free = parse_size(DEFAULT_MIN_FREE, "--min-free")
        preview = make_preview(
            spec, band_name, scale_value, seed_text, local_path(out), loads=False, min_free=min_free
        )
        print_preview(preview, as_json)
        return
    store = open_store(out, parse_options(storage_options)) if is_remote(out) else None
    opts = BuildOptions(
        band=band_name,
        scale=scale_value,
        seed=seed_text,
        out=local_path(out),
        store=store,
        compression=comp,
        workers=workers or default_workers(),
        overwrite=overwrite,
        spec_path=spec_arg,
    )
    progress, update = _progress_callback(quiet)
    pool = None
    if executor == "dask":
        announce = None if quiet or as_json else lambda line: click.echo(line, err=True)
        pool = DaskPool(scheduler, workers or default_workers(), announce)
    try:
        with ExitStack() as stack:
            if store is not None:  # the client's small state; shards go to the store directly
                opts = replace(opts, out=stack.enter_context(staging_dir()))
            report = build_dataset(spec, opts, update, pool)
    finally:
        if progress is not None:
            progress.stop()
    m = report.manifest
    summary = {
        "out": store.uri if store else str(report.out),
        "band": m["band"],
        "scale": m["scale"],
        "seed": m["seed"],
        "counts": m["counts"],
        "shards": m["shards"],
        "shards_resumed": report.shards_resumed,
        "bytes": sum(f["bytes"] for f in m["files"]),
        "seconds": round(report.seconds, 3),
        "rows_per_second": round(sum(m["counts"].values()) / max(report.seconds, 1e-9)),
        "dataset_sha256": m["dataset_sha256"],
        "manifest": store.url("manifest.json") if store else str(report.out / "manifest.json"),
    }
    if as_json:
        emit_json(summary)
        return
    click.echo(
        f"wrote {summary['out']} ({m['band']} x {m['scale']:g}, seed {m['seed']!r}) "
        f"in {summary['seconds']:.1f} s, {summary['bytes'] / 1e6:.1f} MB"
    )
    for table, rows in m["counts"].items():
        click.echo(f"  {table:<20} {rows:>12,} rows")
    if report.shards_resumed:
        click.echo(f"  resumed {report.shards_resumed} of {m['shards']} message shards")
