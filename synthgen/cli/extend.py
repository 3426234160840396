"""`synthgen extend`: continue a dataset's timeline by N days into a delta dataset; and the
rebuild of a chain (`generate --from-manifest DELTA/manifest.json`)."""

from __future__ import annotations

from pathlib import Path

import click

from synthgen.cli.common import DomainCommand, emit_json, json_option
from synthgen.generate.extend import extend_dataset
from synthgen.generate.extend_chain import rebuild_chain


@click.command(cls=DomainCommand)
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--days", type=int, required=True, help="Days to continue the timeline by (>= 1).")
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="The delta's directory."
)
@click.option("--overwrite", is_flag=True, help="Replace an existing delta in --out.")
@json_option("Print a machine-readable summary on stdout.")
def extend(dataset: Path, days: int, out: Path, overwrite: bool, as_json: bool) -> None:
    """Continue DATASET (a base or an extension of one) from its snapshot for N days: the same
    rooms keep talking at their rates, new users and rooms arrive, members join and leave,
    cursors move, and the spec's churn edits and deletes. The delta's manifest chains to DATASET.

    Example: synthgen extend out/dev --days 7 --out out/dev-ext1
    """
    manifest = extend_dataset(dataset, days, out, overwrite)
    ext = manifest["extension"]
    summary = {
        "out": str(out),
        "extension": ext["number"],
        "days": days,
        "snapshot": manifest["snapshot"],
        "counts": manifest["counts"],
        "dataset_sha256": manifest["dataset_sha256"],
        "base_dataset_sha256": ext["base_dataset_sha256"],
    }
    if as_json:
        emit_json(summary)
        return
    click.echo(
        f"wrote {out}: extension {ext['number']} of {ext['base_dataset_sha256'][:12]}, "
        f"{days} days to {manifest['snapshot']}"
    )
    for table, rows in manifest["counts"].items():
        click.echo(f"  {table:<20} {rows:>12,} rows")


def rebuild(from_manifest: Path, out: str, workers: int, overwrite: bool, as_json: bool) -> None:
    """Rebuild the chain an extension's manifest records into OUT/base, OUT/extension-N."""
    from synthgen.manifest import read_manifest

    dirs = rebuild_chain(read_manifest(from_manifest), Path(out), workers, overwrite)
    if as_json:
        emit_json({"out": out, "datasets": [str(d) for d in dirs]})
        return
    click.echo(f"rebuilt the chain of {from_manifest} byte for byte:")
    for directory in dirs:
        click.echo(f"  {directory}")
