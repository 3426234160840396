"""Migration rehearsal: a script run under the load-test workload, traced and judged."""
