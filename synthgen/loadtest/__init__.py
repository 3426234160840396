"""Load tests with the data's own skew: pgbench workloads, concurrency sweeps, a pool, compare.

`workload` writes pgbench scripts and parameter tables drawing rooms by message volume and users
by activity; `pgbench` runs one step and reads its per-transaction logs; `pgbouncer` starts a
throwaway transaction pool; `sweep` runs the steps; `compare` judges pre against post; `html`
draws the report.
"""
