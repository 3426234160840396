"""The dataset's own figures that decide whether an application column can hold it: longest
text, largest integer, nulls and (for columns that fill a unique column) distinct values —
measured before anything is written.

Row counts, nulls and largest integers come from the Parquet footers (each row group's
statistics), so planning does not read the data. Only what the footers cannot say is read, with
one DuckDB aggregate per table, and only when the target needs it: the longest text of a table
whose application table has a bounded column (``varchar(n)`` / ``char(n)``), distinct values of
a column that fills a unique column, and nulls a file's statistics do not record (the writer
keeps no statistics for long text) of a column that lands in a ``NOT NULL`` one.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from synthgen.appschema.catalog import Catalog
from synthgen.load.mapped.load_plan import SourceFigures
from synthgen.mapping import Mapping
from synthgen.schema import TABLES, Table, quote_ident, quote_literal
from synthgen.storage import DatasetPath, attach_duckdb, readable, sql_path


def _targets_of(mapping: Mapping, table: str) -> list[str]:
    """The application tables a contract table feeds (its own, and tables derived from it)."""
    derived = [
        str(entry.get("table"))
        for entry in mapping.derived.values()
        if isinstance(entry, dict) and entry.get("from") == table
    ]
    return [mapping.table_name(table), *derived]


def _bounded(catalog: Catalog | None, targets: list[str]) -> bool:
    """Whether any of the target tables has a length-bounded column (unknown: yes)."""
    if catalog is None:
        return True
    return any(
        c.max_length is not None
        for name in targets
        if name in catalog.tables
        for c in catalog.tables[name].columns.values()
    )


def _unique_fill_sources(mapping: Mapping, catalog: Catalog | None, table: str) -> set[str]:
    """Contract columns that fill a unique application column (their repeats would collide)."""
    target = catalog.tables.get(mapping.table_name(table)) if catalog is not None else None
    out: set[str] = set()
    for column, fill in mapping.fills.get(table, {}).items():
        if not (isinstance(fill, dict) and isinstance(fill.get("from"), str)):
            continue
        held = target.columns.get(column) if target is not None else None
        if held is None or held.unique:
            out.add(str(fill["from"]))
    return out


def _null_checked(mapping: Mapping, catalog: Catalog | None, table: Table) -> set[str]:
    """Contract columns whose nulls matter: those landing in a NOT NULL application column (as
    themselves or as a fill's source); every column when the target is unknown or derived."""
    everything = {c.name for c in table.columns}
    target = catalog.tables.get(mapping.table_name(table.name)) if catalog is not None else None
    if target is None or len(_targets_of(mapping, table.name)) > 1:
        return everything
    out: set[str] = set()
    for column in table.columns:
        held = target.columns.get(mapping.column_name(table.name, column.name))
        if held is not None and held.not_null:
            out.add(column.name)
    for name, fill in mapping.fills.get(table.name, {}).items():
        held = target.columns.get(name)
        sourced = isinstance(fill, dict) and isinstance(fill.get("from"), str)
        if sourced and (held is None or held.not_null):
            out.add(str(fill["from"]))
    return out


def _from_footers(
    files: list[DatasetPath], table: Table, figures: SourceFigures
) -> tuple[int, list[str], list[str]]:
    """Rows, and nulls / largest integers summed over the row groups' statistics; returns the
    row count and the columns whose nulls / maxima a file did not record."""
    rows = 0
    nulls = {c.name: 0 for c in table.columns if c.nullable}
    maxima = {c.name: 0 for c in table.columns if c.type == pa.int64()}
    null_gaps: set[str] = set()
    max_gaps: set[str] = set()
    for path in files:
        meta = pq.ParquetFile(readable(path)).metadata
        rows += meta.num_rows
        at = {meta.schema.column(i).name: i for i in range(meta.num_columns)}
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for name in nulls:
                stats = group.column(at[name]).statistics if name in at else None
                if stats is None or not stats.has_null_count:
                    null_gaps.add(name)
                else:
                    nulls[name] += int(stats.null_count)
            for name in maxima:
                stats = group.column(at[name]).statistics if name in at else None
                if not group.num_rows:
                    continue
                if stats is None or not stats.has_min_max:
                    max_gaps.add(name)
                else:
                    maxima[name] = max(maxima[name], int(stats.max))
    for name, count in nulls.items():
        figures.nulls[f"{table.name}.{name}"] = count
    for name, value in maxima.items():
        figures.max_value[f"{table.name}.{name}"] = value
    return rows, sorted(null_gaps), sorted(max_gaps)


def measure(root: DatasetPath, mapping: Mapping, catalog: Catalog | None = None) -> SourceFigures:
    """Figures of every mapped contract table; `catalog` (the target schema) says which figures
    need the data read (without it, all of them are read)."""
    figures = SourceFigures()
    con: duckdb.DuckDBPyConnection | None = None
    try:
        for table in TABLES.values():
            if not table.application or table.name in mapping.skipped:
                continue
            files: list[DatasetPath] = sorted((root / table.name).glob("*.parquet"))
            rows, null_gaps, max_gaps = _from_footers(files, table, figures)
            figures.rows[table.name] = rows
            parts: list[str] = []
            keys: list[tuple[str, str]] = []
            lengths = _bounded(catalog, _targets_of(mapping, table.name))
            distinct = _unique_fill_sources(mapping, catalog, table.name)
            null_checked = _null_checked(mapping, catalog, table)
            for column in table.columns:
                q = quote_ident(column.name)
                if column.type == pa.string() and lengths:
                    parts.append(f"coalesce(max(length({q})), 0)")
                    keys.append(("max_length", column.name))
                if column.name in max_gaps:
                    parts.append(f"coalesce(max({q}), 0)")
                    keys.append(("max_value", column.name))
                if column.name in null_gaps and column.name in null_checked:
                    parts.append(f"count(*) - count({q})")
                    keys.append(("nulls", column.name))
                if column.name in distinct:
                    parts.append(f"count(DISTINCT {q})")
                    keys.append(("distinct", column.name))
            if not parts or not files:
                continue
            if con is None:
                con = duckdb.connect(config={"memory_limit": "1GB", "threads": 2})
                con.execute("SET enable_progress_bar = false")
                attach_duckdb(con, root)  # a stored dataset: read in place
            listed = ", ".join(quote_literal(sql_path(f)) for f in files)
            row = con.execute(f"SELECT {', '.join(parts)} FROM read_parquet([{listed}])").fetchone()
            assert row is not None
            for (kind, column_name), value in zip(keys, row, strict=True):
                getattr(figures, kind)[f"{table.name}.{column_name}"] = int(value)
    finally:
        if con is not None:
            con.close()
    return figures
