"""Check 11: physical layout — ids and rows in arrival order, as an append-only database has them.

Measured on the Parquet: the rank correlation of each id with its table's time column (on a fixed
sample of large tables), at least MIN_RANK_CORRELATION, and the rows out of arrival order inside
each file, which must be none (README, "Ids and arrival order"). Conversation ids are in draw
order by contract: their correlation is reported, not judged.
"""

from __future__ import annotations

from pathlib import PurePath

from synthgen.fidelity.checks.base import INTEGRITY, Check
from synthgen.fidelity.context import CheckContext
from synthgen.fidelity.results import Finding, Metric, Outcome, at_least, exact, skipped

MIN_RANK_CORRELATION = 0.99
SAMPLE_ROWS = 200_000
SAMPLE_SEED = 11

# table -> (its id, the time its id follows); conversations are reported only
ID_ORDER = {
    "users": ("id", "createdAt"),
    "messages": ("id", "createdAt"),
    "attachments": ("id", "createdAt"),
}
REPORTED_ONLY = {"conversations": ("id", "createdAt")}
# table -> the column its rows follow inside every file
FILE_ORDER = {
    "users": "id",
    "conversations": "id",
    "conversation_users": "joinedAt",
    "messages": "id",
    "attachments": "id",
    "read_receipts": "readAt",
    "conversation_traits": "conversationId",
}


def _rank_correlation(ctx: CheckContext, table: str, id_col: str, time_col: str) -> float | None:
    """Spearman correlation of id and time (ties in time broken by id), on a fixed sample of
    about SAMPLE_ROWS rows (a hash of the id picks them, so every run measures the same rows);
    None for fewer than two rows (DuckDB's corr of a single row is NaN, not NULL)."""
    rows = int(ctx.dataset.manifest.get("counts", {}).get(table, 0))  # only sets the sampling
    every = max(1, rows // SAMPLE_ROWS)
    value = ctx.scalar(
        f"""
        SELECT CASE WHEN count(*) >= 2 THEN corr(r_id, r_time) END FROM (
            SELECT row_number() OVER (ORDER BY "{id_col}") AS r_id,
                   row_number() OVER (ORDER BY "{time_col}", "{id_col}") AS r_time
            FROM "{table}" WHERE hash("{id_col}" + {SAMPLE_SEED}) % {every} = 0)
        """
    )
    return None if value is None else float(value)


FILES_PER_QUERY = 8  # shards per query: memory bounded by a few shards at any band


def _out_of_order(ctx: CheckContext, table: str, column: str) -> list[tuple[str, int]]:
    """(file, rows whose value is below the previous row's in that file) for every file with
    such rows. Files are read a few at a time, each row compared with the one before it in its
    file: a self-join of the whole table ran the perf band out of the gate's memory cap."""
    found: list[tuple[str, int]] = []
    for source in ctx.dataset.file_groups(table, FILES_PER_QUERY):
        rows = ctx.query(
            f"""
            SELECT f, count(*) FILTER (WHERE v < p) AS n FROM (
                SELECT filename AS f, "{column}" AS v,
                       lag("{column}") OVER (PARTITION BY filename ORDER BY file_row_number) AS p
                FROM {source})
            GROUP BY f HAVING n > 0 ORDER BY f
            """
        )
        found += [(f"{table}/{PurePath(str(name)).name}", int(n)) for name, n in rows]
    return found


def run(ctx: CheckContext) -> Outcome:
    """Rank correlation of ids with time; rows out of arrival order inside each file."""
    metrics: list[Metric] = []
    findings: list[Finding] = []
    notes: list[str] = []
    for table, (id_col, time_col) in ID_ORDER.items():
        name = f"{table}: rank correlation of {id_col} with {time_col}"
        rho = _rank_correlation(ctx, table, id_col, time_col)
        if rho is None:
            metrics.append(skipped(name, MIN_RANK_CORRELATION, "fewer than two rows"))
            continue
        metrics.append(at_least(name, MIN_RANK_CORRELATION, round(rho, 6)))
        if rho < MIN_RANK_CORRELATION:
            findings.append(
                Finding(f"{id_col} not in {time_col} order", table, id_col, "-", f"rho {rho:.3f}")
            )
    for table, (id_col, time_col) in REPORTED_ONLY.items():
        rho = _rank_correlation(ctx, table, id_col, time_col)
        notes.append(
            f"{table}: rank correlation of {id_col} with {time_col} "
            f"{'-' if rho is None else f'{rho:.3f}'} (not judged: ids in draw order by contract)"
        )
    for table, column in FILE_ORDER.items():
        per_file = _out_of_order(ctx, table, column)
        total = sum(n for _, n in per_file)
        metrics.append(exact(f"{table}: rows out of {column} order inside their file", total))
        findings += [
            Finding(f"rows out of {column} order", table, column, "-", f"{path}: {n} rows")
            for path, n in per_file
            if n
        ][:5]
    return Outcome(metrics=metrics, findings=findings, notes=notes)


CHECK = Check(11, "physical_layout", "Physical layout: arrival order", INTEGRITY, run)
