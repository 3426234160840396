"""The index performance gate: hot-path queries, EXPLAIN ANALYZE baselines, compare, decide."""
