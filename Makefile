# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv on demand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages the tests need (installed by scripts/system-packages.sh when missing):
# postgresql-15 is the system server the suite runs on first (the embedded 18 comes from pip);
# chromium renders the HTML reports in tests/integration/report/test_reports_in_browser.py;
# postgresql-15-hypopg gives `indexes suggest` its hypothetical indexes (the embedded 18 has none)
SYSTEM_PACKAGES := postgresql-15 pgbouncer chromium postgresql-15-hypopg

.PHONY: demo test lint format bench e2e clean system-packages server-account schema-sql

# As root, the `postgres` account that runs local clusters. The demo needs nothing else: with no
# PostgreSQL on the machine it runs the embedded one (a Python dependency).
server-account:
	scripts/server-account.sh

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP) server-account
	$(BIN)/python -m synthgen.demo $(if $(CAPTURED),--captured)

lint: $(STAMP)
	$(BIN)/ruff check synthgen tests benchmarks
	$(BIN)/ruff format --check synthgen tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format synthgen tests benchmarks
	$(BIN)/ruff check --fix synthgen tests benchmarks

# specs/schema.sql is generated from synthgen/contract.py (a test checks it is up to date)
schema-sql: $(STAMP)
	$(BIN)/python -m synthgen.schema > specs/schema.sql

system-packages:
	scripts/system-packages.sh $(SYSTEM_PACKAGES)
	scripts/server-account.sh

# The whole suite on the system's PostgreSQL 15, then again on the embedded PostgreSQL 18 the
# tests of what differs between server versions: the servers themselves (cluster, embedded),
# what keeps production safe (the guard, teardown, the sampler's SELECT-only session), the
# catalogs synthgen reads (mapping introspection, pg_stat_statements, the progress and lock
# views rehearse watches), the loader's COPY and physical layout (16+ extends tables in bulk:
# page counts, VACUUM's visibility map, plan's size estimates), SQL quoting, plans (the index
# gate reads EXPLAIN), and one pgbench load test (pgbench is the server's own).
# Not again: the end-to-end walks (marked one_server), and what only runs plain SQL that the
# tests above already run there: the sampler's window and privacy pipeline (SELECTs, then
# files), the other load tests (timing verdicts on the same statements), S3 loads (the S3 side
# does not depend on the server), and the CLI's exit codes.
PG_BOTH := tests/integration/postgres tests/integration/load tests/integration/appschema \
	tests/integration/verify tests/integration/rehearse tests/integration/preview \
	tests/integration/sample/test_sampler.py tests/integration/sample/test_statements.py \
	tests/integration/loadtest/test_loadtest.py tests/unit/postgres/test_sql_quoting.py
PG_FIRST_ONLY := tests/integration/verify/test_installed_exit_codes.py

# Each pass in two parts: the tests without a timing verdict on two xdist workers (a file's
# tests stay on one worker, with its module fixtures; every worker starts its own clusters in
# its own temp dirs), then the `serial` ones (load tests, the gate's measurements, rehearsals,
# the end-to-end walks: tests/conftest.py, SERIAL_PATHS) alone in one process, where nothing
# else moves their latencies. Every part runs; make fails at the end if any part failed.
XDIST := -n 2 --dist loadfile
PG18 := $(PG_BOTH) $(addprefix --ignore=,$(PG_FIRST_ONLY))

test: lint system-packages
	@failed=0; \
	SYNTHGEN_TEST_PG=system $(BIN)/pytest -q $(XDIST) -m "not serial" || failed=1; \
	SYNTHGEN_TEST_PG=system $(BIN)/pytest -q -m serial || failed=1; \
	SYNTHGEN_TEST_PG=embedded $(BIN)/pytest -q $(XDIST) \
		-m "postgres and not one_server and not serial" $(PG18) || failed=1; \
	SYNTHGEN_TEST_PG=embedded $(BIN)/pytest -q \
		-m "postgres and not one_server and serial" $(PG18) || failed=1; \
	exit $$failed

e2e: $(STAMP) system-packages
	SYNTHGEN_REQUIRE_POSTGRES=1 $(BIN)/pytest -q tests/integration/sample/test_privacy_e2e.py

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/bench_generate.py --compare

clean:
	rm -rf .synthgen build *.egg-info
