"""`generate --from-manifest`: the build a manifest records (its inline spec, band, scale, seed,
compression), and the rules for flags given beside it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.errors import EXIT_USAGE, DatasetError, SpecError, SynthgenError
from synthgen.manifest import FORMAT_VERSION, read_manifest
from synthgen.spec import Spec, load_spec, parse_spec


class FlagConflict(SynthgenError):
    """A flag beside --from-manifest disagrees with the manifest (a usage error, exit 2)."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Recorded:
    spec: Spec
    band: str
    scale: float
    seed: str
    compression: str


def is_extension(from_manifest: Path) -> bool:
    """Whether the manifest is an extension's (a chain to rebuild: synthgen.generate.extend)."""
    return "extension" in read_manifest(from_manifest)


def recorded_build(
    from_manifest: Path,
    band: str | None,
    scale: float | None,
    seed: str | None,
    spec_path: Path | None,
    compression: str | None,
) -> Recorded:
    """The build `from_manifest` records; a manifest of another dataset format is refused (its
    rebuild would not be byte-identical), and so is a flag that disagrees with it."""
    manifest = read_manifest(from_manifest)
    if manifest.get("format") != FORMAT_VERSION:
        raise DatasetError(
            f"{from_manifest}: format: written by dataset format {manifest.get('format')} "
            f"(synthgen {manifest.get('synthgen_version', '?')}); this synthgen builds format "
            f"{FORMAT_VERSION}, so its rebuild would not be byte-identical. Rebuild it with "
            "that version of synthgen"
        )
    spec = parse_spec(manifest["spec"], source=f"{from_manifest} (inline spec)")
    if spec.digest != manifest.get("spec_sha256", spec.digest):
        raise SpecError(f"{from_manifest}: inline spec does not match its spec_sha256")
    _refuse_conflicts(from_manifest, manifest, spec, band, scale, seed, spec_path)
    return Recorded(
        spec,
        manifest["band"],
        float(manifest["scale"]),
        str(manifest["seed"]),
        compression or manifest.get("compression", "zstd"),
    )


def _refuse_conflicts(
    from_manifest: Path,
    manifest: dict[str, Any],
    spec: Spec,
    band: str | None,
    scale: float | None,
    seed: str | None,
    spec_path: Path | None,
) -> None:
    """A flag given beside --from-manifest must agree with the manifest: a rebuild that silently
    ignored --seed would hand back another dataset than the one asked for."""
    given = {
        "--band": (band, manifest["band"]),
        "--scale": (scale, float(manifest["scale"])),
        "--seed": (seed, str(manifest["seed"])),
    }
    for flag, (value, recorded) in given.items():
        if value is not None and value != recorded:
            raise FlagConflict(
                f"{flag} {value} conflicts with {from_manifest}, which was built with "
                f"{flag} {recorded}; drop {flag} (the manifest decides) or build without "
                "--from-manifest"
            )
    if spec_path is not None and load_spec(spec_path).digest != spec.digest:
        raise FlagConflict(
            f"--spec {spec_path} conflicts with {from_manifest}: its spec differs from the one "
            "inline in the manifest; drop --spec (the manifest decides)"
        )
