# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export AEGLOBAL_HOME ?= $(CURDIR)/.aeglobal
DEMO_PERSONS ?= 2000
DEMO_SEED ?= 42
DEMO_DIR := $(AEGLOBAL_HOME)/demo/snapshot

.PHONY: install browser demo test lint check ui bench soak clean

$(BIN)/aeglobal: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(BIN)/aeglobal

# Headless Chromium + chromedriver from Debian for the steward report's browser test (CI runs
# this; the test skips without them only outside CI). Root runs apt-get directly, others via sudo.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	$$sudo apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		chromium chromium-driver

demo: install
	$(BIN)/aeglobal sandbox generate --persons $(DEMO_PERSONS) --seed $(DEMO_SEED) --out $(DEMO_DIR)
	@echo "== run 1: extract, resolve identities, plan; write-back is a dry run =="
	$(BIN)/aeglobal run
	@echo "== identity resolution against the generator's ground truth =="
	$(BIN)/aeglobal evaluate --truth $(DEMO_DIR).truth.csv
	@echo "== run 2: apply the write-back to the sandbox orgs =="
	$(BIN)/aeglobal run --apply
	@echo "== run 3: sources unchanged except by our own writes: writes nothing =="
	$(BIN)/aeglobal run --apply
	@echo
	@echo "Results: warehouse $(AEGLOBAL_HOME)/warehouse.duckdb (marts.golden_person, marts.writeback_plan,"
	@echo "writeback.changes_log, identity.global_person_map); snapshot $(DEMO_DIR); ground truth"
	@echo "$(DEMO_DIR).truth.csv; identity model under $(AEGLOBAL_HOME)/models/identity; Dagster runs: make ui"
	$(BIN)/aeglobal sandbox stop

lint: install
	$(BIN)/ruff check aeglobal_pipeline tests scripts

# The shipped rules against a generated deployment's sources.yaml, as a rules repository's CI
# would run `aeglobal check` against its own.
check: install
	$(BIN)/aeglobal sandbox generate --persons 20 --seed 1 --no-load --out $(AEGLOBAL_HOME)/check/snapshot >/dev/null
	$(BIN)/aeglobal check --sources $(AEGLOBAL_HOME)/check/snapshot/sources.yaml

test: lint check
	$(BIN)/pytest -n 2 --dist loadfile -q

# The write-back fault soak: writers killed at more points, user edits and slow commits racing.
SOAK_PERSONS ?= 150
soak: install
	AEGLOBAL_SOAK=1 AEGLOBAL_SOAK_PERSONS=$(SOAK_PERSONS) $(BIN)/pytest -q tests/writeback/test_soak.py tests/writeback/test_kill_recovery_runs.py \
		tests/writeback/test_slow_server.py tests/writeback/test_rollback_and_crash.py

ui: install
	$(BIN)/aeglobal ui --port 3000

bench: install
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

clean:
	$(BIN)/aeglobal sandbox stop || true
	rm -rf $(AEGLOBAL_HOME)
