"""The generator: spec -> plan -> shard tasks -> Parquet files -> manifest."""
