"""The generator: spec -> blueprint -> shard tasks -> Parquet files -> manifest.

`build` orchestrates it: `blueprint` (counts and skeleton, pure), `ids` (the id pass), `shard`
(one picklable shard task), `batches` and `write` (Arrow batches to one Parquet file), `result`,
`resume`, `manifest`, and `executors` / `dask_executor` (where tasks run). docs/design.md,
"Module by module", gives each module's job.
"""
