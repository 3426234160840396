"""A production-like PostgreSQL database, built once per session for the sampler's tests.

Its own database (and a SELECT-only role) on the session server, so it never collides with other
tests using the same server; both are dropped at the end. The data is made by the server from
tests/support/production.sql; support.production.TRUTH holds the shape it was built with, which
calibration must recover.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from adbc_driver_postgresql import dbapi
from click.testing import CliRunner

from support.production import (
    CARDS,
    DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    MAPPING,
    SALT,
    SCHEMA,
    TRUTH,
    Production,
    ProductionStrings,
    Sampled,
    execute,
    production_sql,
    query,
    table_fingerprint,
    with_database,
)
from synthgen.cli.sample import sample


@pytest.fixture(scope="session")
def production(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    """Build the production-like database and a SELECT-only role; drop both afterwards."""
    suffix = f"{os.getpid()}"
    database, role = f"synthgen_sample_prod_{suffix}", f"synthgen_sampler_{suffix}"
    admin = with_database(pg_dsn, database)
    execute(pg_dsn, [f"DROP DATABASE IF EXISTS {database}", f"CREATE DATABASE {database}"], True)
    t0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        execute(admin, production_sql(SCHEMA, t0))
        execute(
            admin,
            [
                f"DROP ROLE IF EXISTS {role}",
                f"CREATE ROLE {role} LOGIN",
                f"REVOKE ALL ON DATABASE {database} FROM PUBLIC",
                f"GRANT CONNECT ON DATABASE {database} TO {role}",
                f"GRANT USAGE ON SCHEMA {SCHEMA} TO {role}",
                f"GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {role}",
            ],
        )
        mapping_path = tmp_path_factory.mktemp("mapping") / "mapping.json"
        mapping_path.write_text(json.dumps(MAPPING, indent=2))
        yield Production(
            admin, with_database(pg_dsn, database, role), role, SCHEMA, mapping_path, t0
        )
    finally:
        execute(
            pg_dsn,
            [
                f"DROP DATABASE IF EXISTS {database} WITH (FORCE)",
                f"DROP ROLE IF EXISTS {role}",
            ],
            True,
        )


@pytest.fixture(scope="session")
def sampled(production: Production, tmp_path_factory: pytest.TempPathFactory) -> Sampled:
    """Sample production once for the session (CLI, SELECT-only role, heavy rooms >= 3000)."""
    out = tmp_path_factory.mktemp("shape") / "shape-metrics.json"
    before = table_fingerprint(production.admin_dsn)
    args = ["--dsn", production.reader_dsn, "--mapping", str(production.mapping_path)]
    args += ["--heavy-min-messages", str(TRUTH["heavy_min"]), "--out", str(out)]
    result = CliRunner().invoke(sample, args, env={"ANONYMIZATION_SALT": SALT})
    assert result.exit_code == 0, result.output
    after = table_fingerprint(production.admin_dsn)
    return Sampled(out, out.with_name("shape-metrics.audit.json"), result.stdout, before, after)


@pytest.fixture(scope="session")
def production_strings(production: Production) -> ProductionStrings:
    """Production's personal-looking strings, read by the harness (superuser)."""
    admin = production.admin_dsn
    rows = query(admin, f"SELECT email_address, full_name, phone FROM {SCHEMA}.accounts")
    titles = [t for (t,) in query(admin, f"SELECT DISTINCT title FROM {SCHEMA}.chats") if t]
    with dbapi.connect(admin) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT DISTINCT body FROM {SCHEMA}.posts WHERE body IS NOT NULL")
        bodies = cur.fetch_arrow_table()
    other = [*CARDS, "image/x-acme-sticker", "application/vnd.acme-internal", "accounts",
             "chat_members", "post_files", "post_reads", "poll", "uploads/"]  # fmt: skip
    return ProductionStrings(
        emails=[r[0] for r in rows],
        full_names=[r[1] for r in rows],
        phones=[r[2] for r in rows],
        titles=titles,
        bodies=bodies,
        names=[*FIRST_NAMES, *LAST_NAMES],
        domains=list(DOMAINS),
        other=other,
    )
