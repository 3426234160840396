"""The generator core: NumPy only. It never imports pyarrow, duckdb, adbc or click."""
