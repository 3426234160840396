"""Loading a dataset into PostgreSQL: one driver, two targets.

``contract`` loads into synthgen's own tables (the column contract); ``mapped`` into an
application's own schema through a mapping. Both share the driver (``driver``: the per-unit
transaction with its audit record, progress, the order choice), the units (``arrival_units``,
``merge``, ``shards``), the audit trail and resume (``audit``), the connection pool (``pool``),
the post-load keys (``keys``) and ``teardown``. The cluster itself lives in ``synthgen.postgres``.
"""
