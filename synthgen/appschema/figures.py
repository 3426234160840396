"""The dataset's own figures that decide whether an application column can hold it: longest
text, largest integer, nulls and (for columns that fill a unique column) distinct values —
one DuckDB aggregate per table over the Parquet files, before anything is written."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from synthgen.appschema.plan import SourceFigures
from synthgen.sample.mapping import Mapping
from synthgen.schema import TABLES, quote_ident


def measure(root: Path, mapping: Mapping) -> SourceFigures:
    """Figures of every mapped contract table (bounded memory: DuckDB streams the files)."""
    figures = SourceFigures()
    con = duckdb.connect(config={"memory_limit": "1GB", "threads": 2})
    try:
        con.execute("SET enable_progress_bar = false")
        for table in TABLES.values():
            if not table.application or table.name in mapping.skipped:
                continue
            fill_sources = {
                f["from"]
                for f in mapping.fills.get(table.name, {}).values()
                if isinstance(f, dict) and isinstance(f.get("from"), str)
            }
            parts = ["count(*)"]
            keys: list[tuple[str, str]] = []
            for column in table.columns:
                q = quote_ident(column.name)
                if column.type == pa.string():
                    parts.append(f"coalesce(max(length({q})), 0)")
                    keys.append(("max_length", column.name))
                elif column.type == pa.int64():
                    parts.append(f"coalesce(max({q}), 0)")
                    keys.append(("max_value", column.name))
                if column.nullable:
                    parts.append(f"count(*) - count({q})")
                    keys.append(("nulls", column.name))
                if column.name in fill_sources:
                    parts.append(f"count(DISTINCT {q})")
                    keys.append(("distinct", column.name))
            source = str(root / table.name / "*.parquet").replace("'", "''")
            row = con.execute(f"SELECT {', '.join(parts)} FROM read_parquet('{source}')").fetchone()
            assert row is not None
            figures.rows[table.name] = int(row[0])
            for (kind, column_name), value in zip(keys, row[1:], strict=True):
                getattr(figures, kind)[f"{table.name}.{column_name}"] = int(value)
    finally:
        con.close()
    return figures
