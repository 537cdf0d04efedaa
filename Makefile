# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export AEGLOBAL_HOME ?= $(CURDIR)/.aeglobal
DEMO_PERSONS ?= 2000
DEMO_SEED ?= 42
DEMO_DIR := $(AEGLOBAL_HOME)/demo/snapshot

.PHONY: install demo test lint ui clean

$(BIN)/aeglobal: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(BIN)/aeglobal

demo: install
	$(BIN)/aeglobal sandbox generate --persons $(DEMO_PERSONS) --seed $(DEMO_SEED) --out $(DEMO_DIR)
	@echo "== first run: initial extraction =="
	$(BIN)/aeglobal run
	@echo "== second run: incremental, nothing changed in the sources =="
	$(BIN)/aeglobal run
	@echo
	@echo "Results: warehouse $(AEGLOBAL_HOME)/warehouse.duckdb; snapshot $(DEMO_DIR);"
	@echo "ground truth $(DEMO_DIR).truth.csv; Dagster runs: make ui"
	$(BIN)/aeglobal sandbox stop

lint: install
	$(BIN)/ruff check aeglobal_pipeline tests

test: lint
	$(BIN)/pytest -n 2 --dist loadfile -q

ui: install
	$(BIN)/aeglobal ui --port 3000

clean:
	$(BIN)/aeglobal sandbox stop || true
	rm -rf $(AEGLOBAL_HOME)
