"""DuckDB over a synthetic dataset's Parquet shards: the sampler's histograms, computed alike.

The populations match the sampler's: conversations with at least one message, a message's first
receipt by someone other than its sender, gaps between consecutive messages of a conversation.
Ordered values are binned by an ASOF join against the comparison's bucket edges (no rows leave
DuckDB); categorical values are grouped.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from synthgen.contract import MEDIA_KINDS
from synthgen.errors import DatasetError
from synthgen.manifest import read_manifest
from synthgen.sample.histograms import KNOWN_MIME_TYPES, Thresholds, registry
from synthgen.sample.metrics import FORMAT, VERSION, ShapeMetrics, parse_metrics
from synthgen.sample.publish import RawCounts, empty_counts, publish
from synthgen.schema import TABLES
from synthgen.spec import parse_spec
from synthgen.storage import DatasetPath, attach_duckdb, sql_path
from synthgen.units import US_PER_DAY, US_PER_SECOND


def _views(con: duckdb.DuckDBPyConnection, dataset: DatasetPath) -> None:
    attach_duckdb(con, dataset)  # a stored dataset: read in place
    for table in TABLES:
        folder = dataset / table
        if isinstance(folder, Path):
            found = any(folder.glob("*.parquet"))
            source = f"'{folder.as_posix()}/*.parquet'"
        else:
            files = folder.glob("*.parquet")
            found = bool(files)
            source = "[" + ", ".join(f"'{sql_path(f)}'" for f in files) + "]"
        if not found:
            raise DatasetError(f"{folder}: no Parquet shards (not a complete synthgen dataset)")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({source})")


class SyntheticHistograms:
    """Histogram values of one dataset, keyed like the sampler's histograms."""

    def __init__(
        self,
        dataset: DatasetPath | str,
        thresholds: Thresholds,
        window_start_us: int = 0,
    ) -> None:
        """Heavy rooms are the dataset's own (conversation_traits.isHeavy); users created from
        `window_start_us` on count as signed up in the window."""
        self.dataset = Path(dataset) if isinstance(dataset, str) else dataset
        self.t = thresholds
        self.window_start_us = window_start_us
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        try:
            _views(self.con, self.dataset)
            self._prepare()
        except duckdb.Error as exc:
            raise DatasetError(f"{self.dataset}: cannot read the dataset ({exc})") from None

    def _prepare(self) -> None:
        media = ", ".join(f"'{k}'" for k in MEDIA_KINDS)
        self.con.execute(f"""
CREATE TEMP TABLE conv AS
SELECT CASE WHEN c.type = 'DIRECT' THEN 'direct'
            WHEN c.type = 'GROUP' AND coalesce(mb.n, 0) < {self.t.large_group_min_members}
              THEN 'small_group'
            WHEN c.type = 'GROUP' THEN 'large_group' ELSE 'other' END AS class,
       c.id, c.type AS ctype, coalesce(mb.n, 0) AS n_members, a.n AS n_messages,
       coalesce(tr.isHeavy, false) AS heavy
FROM conversations AS c
JOIN (SELECT conversationId, count(*) AS n FROM messages GROUP BY 1) AS a
  ON a.conversationId = c.id
LEFT JOIN (SELECT conversationId, count(*) AS n FROM conversation_users GROUP BY 1) AS mb
  ON mb.conversationId = c.id
LEFT JOIN conversation_traits AS tr ON tr.conversationId = c.id""")
        self.con.execute(f"""
CREATE TEMP TABLE msg AS
SELECT type, CASE WHEN type IN ({media}) THEN 'media' ELSE 'text' END AS family,
       length(content) AS len, hour(createdAt) AS hour, isodow(createdAt) - 1 AS weekday
FROM messages""")
        self.con.execute("""
CREATE TEMP TABLE gaps AS
SELECT conversationId AS cid,
       (epoch_us(createdAt) - epoch_us(lag(createdAt) OVER (
          PARTITION BY conversationId ORDER BY createdAt, id))) / 1e6 AS gap
FROM messages QUALIFY gap IS NOT NULL""")
        self.con.execute("""
CREATE TEMP TABLE delays AS
SELECT (epoch_us(f.read_at) - epoch_us(m.createdAt)) / 1e6 AS delay
FROM messages AS m
LEFT JOIN (SELECT r.messageId, min(r.readAt) AS read_at FROM read_receipts AS r
           JOIN messages AS s ON s.id = r.messageId AND s.senderId <> r.userId
           GROUP BY 1) AS f ON f.messageId = m.id""")

    def _query(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            return self.con.execute(sql).fetchall()
        except duckdb.Error as exc:
            raise DatasetError(f"{self.dataset}: query failed ({exc})") from None

    def categorical(self, name: str) -> dict[str, float]:
        """Counts per category of a categorical histogram."""
        kind = name.split(".", 1)[1] if "." in name else ""
        known = ", ".join(f"'{m}'" for m in KNOWN_MIME_TYPES)
        sql = {
            "conversation_mix": "SELECT class, count(*) FROM conv GROUP BY 1",
            "heavy_rooms": "SELECT CASE WHEN heavy THEN 'heavy' ELSE 'regular' END, count(*) "
            "FROM conv GROUP BY 1",
            "heavy_messages": "SELECT CASE WHEN heavy THEN 'heavy' ELSE 'regular' END, "
            "sum(n_messages) FROM conv GROUP BY 1",
            "message_types": "SELECT type, count(*) FROM msg GROUP BY 1",
            "captions": "SELECT CASE WHEN coalesce(len, 0) > 0 THEN 'caption' ELSE 'no_caption' "
            "END, count(*) FROM msg WHERE family = 'media' GROUP BY 1",
            "read_state": "SELECT CASE WHEN delay IS NULL THEN 'unread' ELSE 'read' END, count(*) "
            "FROM delays GROUP BY 1",
            "member_roles": "SELECT cu.role, count(*) FROM conversation_users AS cu "
            "JOIN conv AS c ON c.id = cu.conversationId WHERE c.ctype = 'GROUP' GROUP BY 1",
            "member_activity": "SELECT CASE WHEN cu.isActive THEN 'active' ELSE 'inactive' END, "
            "count(*) FROM conversation_users AS cu JOIN conv AS c "
            "ON c.id = cu.conversationId GROUP BY 1",
            "user_signup": "SELECT CASE WHEN epoch_us(createdAt) >= "
            f"{self.window_start_us} THEN 'in_window' ELSE 'before_window' END, count(*) "
            "FROM users GROUP BY 1",
            f"mime_types.{kind}": "SELECT CASE WHEN lower(mimeType) IN ("
            + known
            + f") THEN lower(mimeType) ELSE 'other' END, count(*) FROM attachments "
            f"WHERE kind = '{kind}' GROUP BY 1",
        }[name]
        return {str(k): float(v) for k, v in self._query(sql)}

    def _values_sql(self, name: str) -> str:
        kind = name.split(".", 1)[1] if "." in name else ""
        return {
            "small_group_members": "SELECT n_members AS v FROM conv WHERE class = 'small_group'",
            "large_group_members": "SELECT n_members AS v FROM conv WHERE class = 'large_group'",
            "messages_per_conversation": "SELECT n_messages AS v FROM conv",
            "messages_per_regular_conversation": "SELECT n_messages AS v FROM conv WHERE NOT heavy",
            "messages_per_heavy_conversation": "SELECT n_messages AS v FROM conv WHERE heavy",
            "content_length": "SELECT coalesce(len, 0) AS v FROM msg WHERE type = 'TEXT'",
            "caption_length": "SELECT len AS v FROM msg WHERE family = 'media' AND len > 0",
            "hour_of_day": "SELECT hour AS v FROM msg",
            "day_of_week": "SELECT weekday AS v FROM msg",
            "inter_arrival_seconds": "SELECT gap AS v FROM gaps",
            "burst_cv": "SELECT stddev_pop(gap) / nullif(avg(gap), 0) AS v FROM gaps GROUP BY cid "
            f"HAVING count(*) + 1 >= {self.t.burst_min_messages}",
            "receipt_delay_seconds": "SELECT greatest(delay, 0) AS v FROM delays "
            "WHERE delay IS NOT NULL",
            f"attachment_size.{kind}": "SELECT sizeBytes AS v FROM attachments "
            f"WHERE kind = '{kind}'",
        }[name]

    def ordered(self, name: str, edges: NDArray[np.float64]) -> NDArray[np.float64]:
        """Counts on [-inf, e0), [e0, e1), ..., [e_last, inf) for sorted finite edges."""
        bounds = np.concatenate([[-math.inf], edges[np.isfinite(edges)]])
        table = pa.table({"idx": np.arange(len(bounds)), "lo": bounds})
        self.con.register("bucket_edges", table)
        try:
            rows = self._query(
                f"SELECT e.idx, count(*) FROM ({self._values_sql(name)}) AS x "
                "ASOF JOIN bucket_edges AS e ON x.v >= e.lo WHERE x.v IS NOT NULL GROUP BY 1"
            )
        finally:
            self.con.unregister("bucket_edges")
        counts = np.zeros(len(bounds), dtype=np.float64)
        for idx, n in rows:
            counts[int(idx)] = float(n)
        return counts


def raw_counts_of(dataset: Path | str) -> tuple[RawCounts, Thresholds, datetime]:
    """A dataset's raw histogram counts (before K-merging), its thresholds and window end.

    Heavy rooms are the dataset's own (its sidecar) and the heavy threshold is the one its build
    used (scaled): at small scales it is below regular rooms' sizes, so a threshold alone would
    misclassify them.
    """
    manifest = read_manifest(dataset)
    spec = parse_spec(manifest["spec"], source=f"{dataset} (inline spec)")
    derived = manifest.get("derived", {}).get("heavy_min_messages")
    t = Thresholds(
        window_days=spec.time.window_days,
        large_group_min_members=spec.conversations.large_group.min_members,
        heavy_min_messages=int(derived or spec.messages_per_conversation.heavy.min_messages),
    )
    start_us = spec.time.snapshot_us - spec.time.window_days * US_PER_DAY
    syn = SyntheticHistograms(dataset, t, window_start_us=start_us)
    specs = registry(t)
    raw = empty_counts(specs)
    for name, hist in specs.items():
        target = raw[name]
        if isinstance(target, dict):
            for key, n in syn.categorical(name).items():
                target[key if key in target else "other"] += n
        else:
            raw[name] = syn.ordered(name, np.asarray(hist.edges, dtype=np.float64))
    return raw, t, datetime.fromtimestamp(spec.time.snapshot_us / US_PER_SECOND, UTC)


def shape_metrics_of(dataset: Path | str, k: int = 10) -> ShapeMetrics:
    """Shape metrics of a synthetic dataset, as the sampler would publish them for production.

    Lets a dataset stand in for production (tests, or comparing two datasets). The window is the
    dataset's whole one.
    """
    raw, t, end = raw_counts_of(dataset)
    return metrics_from_counts(raw, t, end, k, source=f"{dataset} (synthetic)")


def metrics_from_counts(
    raw: RawCounts, t: Thresholds, end: datetime, k: int = 10, source: str = "synthetic"
) -> ShapeMetrics:
    """Publish raw counts (K-merging and suppression, no noise) as a shape-metrics document
    whose window is the `t.window_days` days before `end`."""
    histograms, privacy = publish(raw, registry(t), k, None)
    privacy["salt_fingerprint"] = "0" * 16
    return parse_metrics(
        {
            "format": FORMAT,
            "version": VERSION,
            "window": {
                "days": t.window_days,
                "start": (end - timedelta(days=t.window_days)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "thresholds": {
                "large_group_min_members": t.large_group_min_members,
                "heavy_min_messages": t.heavy_min_messages,
                "burst_min_messages": t.burst_min_messages,
            },
            "privacy": privacy,
            "source": {},
            "histograms": histograms,
        },
        source=source,
    )
