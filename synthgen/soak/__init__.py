"""The soak: a loaded, indexed database extended day by day (`synthgen soak`, `run
--extend-days`), its tables, indexes, vacuum and writes measured each day, then judged: does the
phase-2 gain hold after N days?"""
