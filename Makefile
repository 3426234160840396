# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv on demand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages the tests need (installed by scripts/system-packages.sh when missing)
SYSTEM_PACKAGES := pgbouncer

.PHONY: demo test lint format bench e2e clean system-packages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m synthgen.demo

lint: $(STAMP)
	$(BIN)/ruff check synthgen tests benchmarks
	$(BIN)/ruff format --check synthgen tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format synthgen tests benchmarks
	$(BIN)/ruff check --fix synthgen tests benchmarks

system-packages:
	scripts/system-packages.sh $(SYSTEM_PACKAGES)

test: lint system-packages
	$(BIN)/pytest -q

e2e: $(STAMP)
	SYNTHGEN_REQUIRE_POSTGRES=1 $(BIN)/pytest -q tests/integration/sample/test_privacy_e2e.py

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/bench_generate.py --compare

clean:
	rm -rf .synthgen build *.egg-info
