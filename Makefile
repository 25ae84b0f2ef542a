# The two commands a newcomer runs: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install demo test lint typecheck unit clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e ".[emulator]" --group dev
	touch $(INSTALLED)

install: $(INSTALLED)

## Run the example ETL pipeline on the local AWS Batch emulator, then show a summary.
demo: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m airflow_batch_plugin.localrun batch_etl

## Lint, type-check and run every test (unit, emulator integration, Airflow end to end).
test: install lint typecheck
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -p no:cacheprovider

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/python -m pytest -p no:cacheprovider tests/unit

clean:
	rm -rf $(VENV) .airflow build *.egg-info .mypy_cache .ruff_cache
