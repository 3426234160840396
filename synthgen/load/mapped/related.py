"""The related rows of ``ref`` fills (see appschema.refs), as sorted lookup arrays built once
before the load and applied per batch with one `searchsorted` — no Python per row.

- ``through: "c"``: the row's own column, nothing to build;
- ``through: "c.c2"``: (id, c2) of the middle table's rows the source table points at (a semi
  join in DuckDB: as many pairs as distinct values of c, e.g. one per message with an
  attachment);
- ``member``: (conversation, chosen user), one pair per conversation;
- the hash rule: the referenced table's ids, sorted (a row is picked by position).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from synthgen.load.mapped.ids import scramble60
from synthgen.schema import TABLES, quote_ident, quote_literal
from synthgen.storage import DatasetPath, attach_duckdb, read_parquet_table, sql_path

Pairs = tuple[NDArray[np.int64], NDArray[np.int64]]


def ref_key(source: str, fill: dict[str, Any]) -> str:
    """The lookup a ref fill needs ('' for none: the row's own column)."""
    if "member" in fill:
        return f"member:{fill['member']}"
    through = str(fill.get("through", ""))
    if "." in through:
        return f"{source}:{through}"
    return ""


def files_of(root: DatasetPath, table: str) -> str:
    """A table's shards as a DuckDB list's items."""
    files: list[DatasetPath] = sorted((root / table).glob("*.parquet"))
    return ", ".join(quote_literal(sql_path(p)) for p in files)


def query_pairs(root: DatasetPath, sql: str) -> Pairs:
    """Two int64 columns of a DuckDB query over the dataset."""
    import duckdb

    con = duckdb.connect(config={"memory_limit": "1GB", "threads": 2})
    try:
        con.execute("SET enable_progress_bar = false")
        attach_duckdb(con, root)  # a stored dataset: read in place
        got = con.execute(sql).fetchnumpy()
    finally:
        con.close()
    keys, values = (np.asarray(v, dtype=np.int64) for v in got.values())
    return keys, values


def build_pairs(root: DatasetPath, key: str) -> Pairs:
    """The sorted (key, related id) pairs of one lookup."""
    q = quote_ident
    if key.startswith("member:"):
        owner_first = "(role <> 'OWNER'), " if key == "member:owner" else ""
        return query_pairs(
            root,
            'SELECT "conversationId", "userId" FROM (SELECT "conversationId", "userId", '
            f'row_number() OVER (PARTITION BY "conversationId" ORDER BY {owner_first}'
            '"joinedAt", "userId") AS r FROM read_parquet(['
            + files_of(root, "conversation_users")
            + "])) WHERE r = 1 ORDER BY 1",
        )
    source, through = key.split(":", 1)
    first, second = through.split(".")
    middle = dict((c, ref) for c, ref, _ in TABLES[source].foreign_keys)[first]
    return query_pairs(
        root,
        f"SELECT id, {q(second)} FROM read_parquet([{files_of(root, middle)}]) WHERE id IN "
        f"(SELECT {q(first)} FROM read_parquet([{files_of(root, source)}])) ORDER BY 1",
    )


def table_ids(root: DatasetPath, table: str) -> NDArray[np.int64]:
    """A table's ids, sorted (the rows the hash rule picks from)."""
    ids = read_parquet_table(root / table, columns=["id"]).column("id").to_numpy()
    return np.sort(np.asarray(ids, dtype=np.int64))


def picked(ids: NDArray[np.int64], keys: NDArray[np.int64], salt: str) -> NDArray[np.int64]:
    """A row of `ids` for each key: deterministic, spread evenly."""
    if len(ids) == 0:
        return np.zeros(len(keys), dtype=np.int64)
    at = scramble60(keys, salt) % np.uint64(len(ids))
    return ids[at.astype(np.int64)]


def looked_up(
    pairs: Pairs, keys: NDArray[np.int64], fallback: NDArray[np.int64]
) -> NDArray[np.int64]:
    """The related id of each key; `fallback` where the key has none."""
    known, values = pairs
    if len(known) == 0:
        return fallback
    at = np.clip(np.searchsorted(known, keys), 0, len(known) - 1)
    return np.where(known[at] == keys, values[at], fallback)


def ref_values(
    source: str,
    fill: dict[str, Any],
    batch: pa.RecordBatch,
    row_keys: NDArray[np.int64],
    pairs: dict[str, Pairs],
    ids: dict[str, NDArray[np.int64]],
) -> NDArray[np.int64]:
    """The referenced table's integer id for each row of a batch."""
    referenced = str(fill["ref"])
    through = str(fill.get("through", ""))
    if through and "." not in through:
        return np.asarray(batch.column(through).to_numpy(), dtype=np.int64)
    key = ref_key(source, fill)
    if key.startswith("member:"):
        own = np.asarray(batch.column("id").to_numpy(), dtype=np.int64)
        fallback = picked(ids[referenced], own, f"{source}->{referenced}")
        return looked_up(pairs[key], own, fallback)
    if key:
        first = through.split(".")[0]
        own = np.asarray(batch.column(first).to_numpy(), dtype=np.int64)
        return looked_up(pairs[key], own, picked(ids[referenced], own, key))
    return picked(ids[referenced], row_keys, f"{source}->{referenced}")


def needs_ids(fill: dict[str, Any]) -> bool:
    """Whether a ref fill may pick by hash (its referenced table's ids must be at hand)."""
    return "." in str(fill.get("through", "")) or "member" in fill or "through" not in fill
