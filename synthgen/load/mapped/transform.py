"""Arrow batches of the contract -> Arrow batches of an application table, per the load plan.

Column by column with Arrow compute and NumPy (no Python per row): id formats, enum labels,
casts to the target's binary types (int4, timestamp without time zone, uuid bytes), fills.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy.typing import NDArray

from synthgen.load.mapped.counters import build_counter, counter_key, counter_values
from synthgen.load.mapped.ids import TIME_ORDERED, IdClock, format_ids
from synthgen.load.mapped.load_plan import REFERENCED, TIME_COLUMN, ColumnPlan, LoadPlan, TablePlan
from synthgen.load.mapped.parents import spread
from synthgen.load.mapped.related import build_pairs, needs_ids, ref_key, ref_values, table_ids
from synthgen.mapping import EPOCH_UNITS
from synthgen.schema import TABLES, quote_literal
from synthgen.storage import DatasetPath, attach_duckdb, read_parquet_table, readable, sql_path
from synthgen.units import US_PER_MS

SMALL = ("users", "conversations")  # one row per user / room: cached formatted, bounded
LastMessages = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]


@dataclass
class Context:
    """What every batch of a load shares: id clocks of the referenced tables and the
    conversations' last messages."""

    clocks: dict[str, IdClock] = field(default_factory=dict)
    last_message: LastMessages | None = None
    # every id of a small referenced table (users, conversations) already formatted, so a
    # foreign key to it is one `take` instead of a conversion per row: (sorted ids, values)
    formatted: dict[tuple[str, bool], tuple[NDArray[np.int64], pa.Array]] = field(
        default_factory=dict
    )
    # ref fills: (key, related id) lookups and the referenced tables' ids (load.mapped.related)
    pairs: dict[str, tuple[NDArray[np.int64], NDArray[np.int64]]] = field(default_factory=dict)
    ref_ids: dict[str, NDArray[np.int64]] = field(default_factory=dict)
    counters: dict[str, tuple[NDArray[np.int64], NDArray[np.int64]]] = field(default_factory=dict)

    def lookup(self, table: str, ids: NDArray[np.int64], binary_uuid: bool) -> pa.Array | None:
        """Pre-formatted values of `ids`, or None when the table is not cached."""
        cached = self.formatted.get((table, binary_uuid))
        if cached is None:
            return None
        known, values = cached
        if len(known) and int(known[-1]) - int(known[0]) == len(known) - 1:
            at = ids - known[0]  # ids 1..n without gaps (the generator's): no search needed
        else:
            at = np.searchsorted(known, ids)
        return values.take(pa.array(np.clip(at, 0, len(known) - 1)))


def _all_rows_clock(root: DatasetPath, table: str) -> IdClock:
    data = read_parquet_table(root / table, columns=["id", TIME_COLUMN[table]])
    return IdClock(
        data.column("id").to_numpy(), data.column(TIME_COLUMN[table]).cast(pa.int64()).to_numpy()
    )


def _row_group_clock(files: list[DatasetPath]) -> IdClock:
    """Anchors from each row group's min / max (id, createdAt) statistics: footers only."""
    ids: list[int] = []
    times: list[int] = []
    for path in files:
        meta = pq.ParquetFile(readable(path)).metadata
        names = [meta.schema.column(i).name for i in range(meta.num_columns)]
        id_at, time_at = names.index("id"), names.index("createdAt")
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            id_stats, time_stats = group.column(id_at).statistics, group.column(time_at).statistics
            if id_stats is None or time_stats is None or not id_stats.has_min_max:
                continue
            ids += [int(id_stats.min), int(id_stats.max)]
            times += [_us(time_stats.min), _us(time_stats.max)]
    return IdClock(np.asarray(ids, dtype=np.int64), np.asarray(times, dtype=np.int64))


def _us(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(pa.scalar(value, pa.timestamp("us", tz="UTC")).cast(pa.int64()).as_py())


def build_context(root: DatasetPath, plan: LoadPlan, message_files: list[DatasetPath]) -> Context:
    """Clocks only where a time-ordered id format (or a derived state time) needs them."""
    ctx = Context()
    wants_message_time = any(when == "message_time" for t in plan.tables for _, when in t.states)
    for table in REFERENCED:
        needed = plan.id_formats.get(table) in TIME_ORDERED or (
            table == "messages" and wants_message_time
        )
        if not needed:
            continue
        ctx.clocks[table] = (
            _row_group_clock(message_files) if table == "messages" else _all_rows_clock(root, table)
        )
    if any(c.fill.get("last_message") for t in plan.tables for c in t.columns):
        ctx.last_message = _last_messages(message_files)
    for t in plan.tables:
        for c in t.columns:
            counter = counter_key(t.source, c.fill) if c.action == "fill" else ""
            if counter and counter not in ctx.counters:
                ctx.counters[counter] = build_counter(root, counter)
            if c.action != "ref":
                continue
            key = ref_key(t.source, c.fill)
            if key and key not in ctx.pairs:
                ctx.pairs[key] = build_pairs(root, key)
            if needs_ids(c.fill) and c.fill["ref"] not in ctx.ref_ids:
                ctx.ref_ids[c.fill["ref"]] = table_ids(root, c.fill["ref"])
    for table in SMALL:
        fmt = plan.id_formats.get(table, "bigint")
        if fmt == "bigint":
            continue
        ids = np.sort(read_parquet_table(root / table, columns=["id"]).column("id").to_numpy())
        ms = ctx.clocks[table].ms(ids) if table in ctx.clocks else None
        for binary in (True, False):
            ctx.formatted[(table, binary)] = (ids, format_ids(ids, table, fmt, ms, binary))
    return ctx


def _last_messages(files: list[DatasetPath]) -> LastMessages:
    """(conversation ids sorted, their last message's id, its createdAt in µs) via DuckDB."""
    import duckdb

    listed = ", ".join(quote_literal(sql_path(p)) for p in files)
    con = duckdb.connect(config={"memory_limit": "1GB", "threads": 2})
    try:
        if files:
            attach_duckdb(con, files[0])  # stored shards: read in place
        got = con.execute(
            'SELECT "conversationId", arg_max(id, "createdAt"), epoch_us(max("createdAt")) '
            f"FROM read_parquet([{listed}]) GROUP BY 1 ORDER BY 1"
        ).fetchnumpy()
    finally:
        con.close()
    conversations, last_ids, last_us = (np.asarray(got[k], dtype=np.int64) for k in got)
    return conversations, last_ids, last_us


def source_columns(table: TablePlan) -> list[str]:
    """The contract columns a table plan reads."""
    wanted = {TIME_COLUMN[table.source]}
    if table.source in ("users", "conversations", "messages", "attachments"):
        wanted.add("id")
    for c in table.columns:
        if c.source:
            wanted.add(c.source)
        if isinstance(c.fill.get("from"), str):
            wanted.add(c.fill["from"])
        if c.action == "ref" and "through" in c.fill:
            wanted.add(str(c.fill["through"]).split(".")[0])
        if c.action == "parent" and "conversationId" in TABLES[table.source].column_names:
            wanted.add("conversationId")
        if "count" in c.fill and table.source == "conversation_users":
            wanted |= {"conversationId", "userId"}
    return sorted(wanted)


def _ms_of(ctx: Context, table: str, ids: NDArray[np.int64], own_us: NDArray[np.int64]) -> Any:
    clock = ctx.clocks.get(table)
    return clock.ms(ids) if clock is not None else own_us // US_PER_MS


def _column(
    c: ColumnPlan,
    batch: pa.RecordBatch,
    table: TablePlan,
    ctx: Context,
    row_keys: NDArray[np.int64],
    own_us: NDArray[np.int64],
) -> pa.Array:
    uuid_binary = c.arrow == pa.binary(16)
    if c.action == "parent":
        assert c.id_table and c.id_format
        room = "id" if table.source in ("users", "conversations") else "conversationId"
        keys = batch.column(room).to_numpy() if room in batch.schema.names else row_keys
        ids = spread(np.asarray(keys, dtype=np.int64), int(c.fill["rows"]), str(c.fill["spread"]),
                     str(c.fill["parent"]))  # fmt: skip
        zero = np.zeros(len(ids), dtype=np.int64)  # parents' time-ordered ids: at 1970
        return format_ids(ids, c.id_table, c.id_format, zero, uuid_binary)
    if c.action in ("id", "ref"):
        assert c.id_table and c.id_format
        if c.action == "ref":
            ids = ref_values(table.source, c.fill, batch, row_keys, ctx.pairs, ctx.ref_ids)
        else:
            assert c.source
            ids = batch.column(c.source).to_numpy()
        cached = ctx.lookup(c.id_table, ids, uuid_binary)
        if cached is not None:
            return cached
        # a table's own ids without a clock take the row's own time (_ms_of's fallback)
        ms = _ms_of(ctx, c.id_table, ids, own_us) if c.id_format in TIME_ORDERED else None
        return format_ids(ids, c.id_table, c.id_format, ms, uuid_binary)
    if c.action == "generated id":
        assert c.id_table and c.id_format
        return format_ids(row_keys, c.id_table, c.id_format, own_us // US_PER_MS, uuid_binary)
    if c.action == "enum":
        assert c.source
        keys = pa.array(list(c.value_map))
        labels = pa.array(list(c.value_map.values()))
        return labels.take(pc.index_in(batch.column(c.source), value_set=keys))
    if c.action == "copy":
        assert c.source
        return _cast(batch.column(c.source), c.arrow, c.epoch)
    return _fill(c, batch, table, ctx, row_keys)


def _cast(values: pa.Array, arrow: pa.DataType, epoch: str = "") -> pa.Array:
    """`values` as the target's type; a time into an integer column as a count of `epoch`
    units since 1970."""
    if values.type == arrow:
        return values
    if epoch and pa.types.is_timestamp(values.type):
        us = values.cast(pa.int64())
        per = EPOCH_UNITS[epoch]  # rounded to the unit, as timestamp(3) and epoch_ms() round
        return (pc.divide(pc.add(us, per // 2), per) if per > 1 else us).cast(arrow)
    if pa.types.is_timestamp(values.type) and arrow == pa.date32():
        return values.cast(pa.timestamp("us")).cast(pa.date32())
    return values.cast(arrow)


def _fill(
    c: ColumnPlan,
    batch: pa.RecordBatch,
    table: TablePlan,
    ctx: Context,
    row_keys: NDArray[np.int64],
) -> pa.Array:
    out = _filled(c, batch, table, ctx, row_keys)
    if "else" in c.fill:  # a missing value as a constant (a NOT NULL DEFAULT 0 column's 0)
        out = out.fill_null(pa.scalar(c.fill["else"]).cast(c.arrow))
    return out


def _filled(
    c: ColumnPlan,
    batch: pa.RecordBatch,
    table: TablePlan,
    ctx: Context,
    row_keys: NDArray[np.int64],
) -> pa.Array:
    fill, n = c.fill, batch.num_rows
    counter = counter_key(table.source, fill)
    if counter:
        values = counter_values(table.source, fill, batch, ctx.counters[counter])
        return _cast(values, c.arrow, c.epoch)
    if "value" in fill:
        return pa.repeat(pa.scalar(fill["value"]).cast(c.arrow), n)
    if "unique" in fill:
        digits = pa.array(row_keys).cast(pa.string())  # the prefix inserted at 0: one pass
        return pc.binary_replace_slice(digits, start=0, stop=0, replacement=str(fill["unique"]))
    if "last_message" in fill:
        assert ctx.last_message is not None
        conversations, message_ids, created_us = ctx.last_message
        own = batch.column("id").to_numpy()
        at = np.clip(np.searchsorted(conversations, own), 0, max(len(conversations) - 1, 0))
        found = conversations[at] == own if len(conversations) else np.zeros(n, bool)
        if fill["last_message"] == "createdAt":
            values = pa.array(created_us[at], pa.int64(), mask=~found)
            return _cast(values.cast(pa.timestamp("us", tz="UTC")), c.arrow, c.epoch)
        return pa.array(message_ids[at], pa.int64(), mask=~found)
    source = batch.column(fill["from"])
    if "after_last" in fill:
        source = _after_last(source, str(fill["after_last"]))
    if "prefix" in fill or "suffix" in fill:
        source = pc.binary_join_element_wise(
            str(fill.get("prefix", "")), source.cast(pa.string()), str(fill.get("suffix", "")), ""
        )
    return _cast(source, c.arrow, c.epoch)


def _after_last(source: pa.Array, separator: str) -> pa.Array:
    """What follows the last `separator` of each value (the whole value without one): the tail
    of a split from the right, taken from the split's values; ~2x faster than the regex
    ``.*SEP`` (same results, nulls kept)."""
    if not separator:  # everything follows the empty string's last place, the value's end
        return pc.replace_substring_regex(source, pattern=".*", replacement="", max_replacements=1)
    pieces = pc.split_pattern(source, pattern=separator, max_splits=1, reverse=True)
    if len(pieces.values) == 0:  # no value at all: every row is null
        return source
    last = np.maximum(pieces.offsets.to_numpy()[1:] - 1, 0)
    tails = pieces.values.take(pa.array(last))
    return pc.if_else(pieces.is_null(), pa.scalar(None, tails.type), tails)


def transform(
    batch: pa.RecordBatch, table: TablePlan, ctx: Context, first_row: int, formats: dict[str, str]
) -> list[pa.RecordBatch]:
    """One contract batch as the target table's batches (a derived table: one per state)."""
    own_us = batch.column(TIME_COLUMN[table.source]).cast(pa.int64()).to_numpy()
    rows = first_row + np.arange(batch.num_rows, dtype=np.int64)
    if "id" in batch.schema.names and table.source in (*REFERENCED, "attachments"):
        keys = batch.column("id").to_numpy()
    else:
        keys = rows
    if not table.states:
        arrays = [
            _last_message_id(c, _column(c, batch, table, ctx, keys, own_us), ctx, formats)
            for c in table.columns
        ]
        return [pa.RecordBatch.from_arrays(arrays, names=[c.target.name for c in table.columns])]
    parts = []
    count = len(table.states)
    same_every_state = {  # the references are the receipt's: converted once, not per state
        c.target.name: _column(c, batch, table, ctx, rows, own_us)
        for c in table.columns
        if c.action == "id"
    }
    for index, (label, when) in enumerate(table.states):
        state_keys = rows * count + index
        if when == "message_time":
            ms = _ms_of(ctx, "messages", batch.column("messageId").to_numpy(), own_us)
            times = np.asarray(ms, dtype=np.int64) * US_PER_MS
        else:
            times = own_us
        arrays = []
        for c in table.columns:
            if c.action == "state":
                arrays.append(pa.repeat(pa.scalar(label), batch.num_rows))
            elif c.action == "state time":
                stamps = pa.array(times).cast(pa.timestamp("us", tz="UTC"))
                arrays.append(_cast(stamps, c.arrow, c.epoch))
            elif c.target.name in same_every_state:
                arrays.append(same_every_state[c.target.name])
            else:
                arrays.append(_column(c, batch, table, ctx, state_keys, times))
        parts.append(
            pa.RecordBatch.from_arrays(arrays, names=[c.target.name for c in table.columns])
        )
    return parts  # streamed one after the other: not concatenated (a copy of every value)


def _last_message_id(
    c: ColumnPlan, values: pa.Array, ctx: Context, formats: dict[str, str]
) -> pa.Array:
    """A conversation's last message id, in the messages' id format."""
    if c.fill.get("last_message") != "id":
        return values
    fmt = formats["messages"]
    ids = values.fill_null(0).to_numpy()
    ms = ctx.clocks["messages"].ms(ids) if fmt in TIME_ORDERED else None
    formatted = format_ids(ids, "messages", fmt, ms, c.arrow == pa.binary(16))
    return pc.if_else(values.is_null(), pa.nulls(len(values), formatted.type), formatted)


def target_schema(table: TablePlan) -> pa.Schema:
    """The Arrow schema of the batches a table plan produces."""
    return pa.schema([pa.field(c.target.name, c.arrow) for c in table.columns])
