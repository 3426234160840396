"""Rebuild a chain (a base and its extensions) from the last extension's manifest, byte for byte:
`synthgen generate --from-manifest DELTA/manifest.json --out OUT` writes OUT/base and
OUT/extension-1 ... OUT/extension-K, each checked against the dataset_sha256 the chain records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.errors import DatasetError
from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.generate.extend import extend_dataset
from synthgen.spec import parse_spec


def chain_dirs(out: Path, count: int) -> list[Path]:
    """Where a rebuilt chain of `count` extensions goes: the base first."""
    return [out / "base", *(out / f"extension-{i}" for i in range(1, count + 1))]


def rebuild_chain(manifest: dict[str, Any], out: Path, workers: int, overwrite: bool) -> list[Path]:
    """Build the base the delta's manifest names, then every extension in turn; refuse a result
    whose dataset_sha256 differs from the recorded one."""
    ext = manifest["extension"]
    links = [
        *ext["chain"],
        {
            "number": ext["number"],
            "days": ext["days"],
            "dataset_sha256": manifest["dataset_sha256"],
        },
    ]
    dirs = chain_dirs(out, len(links) - 1)
    spec = parse_spec(manifest["spec"], source="manifest (inline spec)")
    opts = BuildOptions(
        band=manifest["band"],
        scale=float(manifest["scale"]),
        seed=str(manifest["seed"]),
        out=dirs[0],
        compression=str(manifest.get("compression", "zstd")),
        workers=workers,
        overwrite=overwrite,
    )
    built = build_dataset(spec, opts).manifest
    _check(dirs[0], built, links[0])
    for link, parent, target in zip(links[1:], dirs[:-1], dirs[1:], strict=True):
        _check(target, extend_dataset(parent, int(link["days"]), target, overwrite), link)
    return dirs


def _check(root: Path, built: dict[str, Any], link: dict[str, Any]) -> None:
    if built["dataset_sha256"] != link["dataset_sha256"]:
        raise DatasetError(
            f"{root}: rebuilt dataset_sha256 {built['dataset_sha256'][:12]} differs from the "
            f"chain's {link['dataset_sha256'][:12]} (another synthgen version?)"
        )
