"""The manifest a build writes: what was built, from what, its figures, and how to rebuild it.

Its presence in OUT means the dataset is complete (it is written last, atomically).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from synthgen import __version__
from synthgen.contract import ALL_TABLES
from synthgen.files import write_json_atomic
from synthgen.generate.blueprint import Plan
from synthgen.generate.result import Folded, log2_hist
from synthgen.generate.write import WrittenFile
from synthgen.manifest import FORMAT_VERSION, MANIFEST_NAME, FileEntry, dataset_digest
from synthgen.spec import Spec

if TYPE_CHECKING:
    from synthgen.generate.build import BuildOptions


def rebuild_command(
    band: str, scale: float, seed: str, compression: str, spec_path: str | None
) -> str:
    parts = [
        "synthgen",
        "generate",
        "--band",
        band,
        "--scale",
        repr(scale),
        "--seed",
        seed,
        "--compression",
        compression,
    ]
    if spec_path:
        parts += ["--spec", spec_path]
    return shlex.join(parts) + " --out OUT"


def write_manifest(root: Path, manifest: dict[str, Any]) -> Path:
    """Write OUT/manifest.json atomically (its presence means the dataset is complete)."""
    path = root / MANIFEST_NAME
    write_json_atomic(path, manifest, sort_keys=True)
    return path


def _entry(written: WrittenFile) -> FileEntry:
    """Manifest entry for a written file; its table and shard come from its path."""
    table, name = written.path.split("/")
    shard = int(name.removeprefix("part-").removesuffix(".parquet"))
    return FileEntry(table, shard, written.path, written.rows, written.bytes, written.sha256)


def build_manifest(
    spec: Spec,
    opts: BuildOptions,
    plan: Plan,
    folded: Folded,
    files: list[WrittenFile],
    timings: dict[str, float],
) -> dict[str, Any]:
    """The manifest of a finished build (its files, counts, figures and rebuild command)."""
    sk = plan.skeleton
    entries = [_entry(f) for f in files]
    counts = {t: sum(e.rows for e in entries if e.table == t) for t in ALL_TABLES}
    sizes = np.bincount(np.diff(sk.member_offsets))
    heavy_messages = int(sk.conv_messages[sk.conv_is_heavy].sum())
    return {
        "synthgen_version": __version__,
        "format": FORMAT_VERSION,
        "band": opts.band,
        "scale": opts.scale,
        "seed": opts.seed,
        "compression": opts.compression,
        "spec": spec.raw,
        "spec_sha256": spec.digest,
        "dataset_sha256": dataset_digest(entries),
        "snapshot": spec.raw["time"]["snapshot"],
        "counts": counts,
        "shards": len(folded.files),
        "files": [e.__dict__ for e in sorted(entries, key=lambda e: e.path)],
        "timings": timings,
        "command": rebuild_command(
            opts.band, opts.scale, opts.seed, opts.compression, opts.spec_path
        ),
        "derived": {
            "heavy_rooms": int(sk.conv_is_heavy.sum()),
            "heavy_min_messages": plan.counts.heavy_min_messages,
            "heavy_message_share": heavy_messages / max(1, plan.counts.messages),
        },
        "histograms": {
            "conversation_size": {
                "bins": "exact member count",
                "counts": {str(k): int(v) for k, v in enumerate(sizes) if v},
            },
            "messages_per_conversation": {
                "bins": "log2",
                "counts": log2_hist(sk.conv_messages).tolist(),
            },
            "content_length": {
                "bins": "log2",
                "counts": folded.content_length_hist.tolist(),
            },
            "inter_arrival_seconds": {
                "bins": "log2",
                "counts": folded.gap_hist.tolist(),
            },
        },
    }
