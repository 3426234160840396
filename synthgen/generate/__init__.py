"""The generator: spec -> plan -> shard tasks -> Parquet files -> manifest.

plan       counts, skeleton and each message shard's slice of it (pure, no I/O)
ids        the id pass: every shard's id offsets per time bucket, before the shards run
shard      one message shard as a picklable task: generate, write, record as done
result     a shard's result and the fold of all results into dataset-wide figures
batches    engine arrays -> Arrow record batches (the contract's columns and types)
write      record batches -> one Parquet file, atomically
resume     OUT/.synthgen: the run's parameters, done-records, the check of --out
manifest   the manifest a build writes last
executors  where shard tasks run (local processes)
dask_executor  the same on a Dask cluster (optional: synthgen[dask])
build      the orchestration of all of the above
"""
