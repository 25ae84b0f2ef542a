# The two commands a newcomer runs: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium

.PHONY: install browser demo test suite test-compat package-check lint typecheck unit clean

$(INSTALLED): pyproject.toml aws-batch-local/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e ./aws-batch-local -e . --group dev
	touch $(INSTALLED)

install: $(INSTALLED)

## Debian's Chromium and ChromeDriver for the browser tests (Playwright drives $(CHROMIUM); it never
## downloads a browser). Nothing to do when it is there; as root, apt-get installs it; otherwise the
## browser tests skip, saying why, except in CI (CI=true), where they fail.
browser:
	@if [ -x $(CHROMIUM) ]; then \
	  :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian's chromium and chromium-driver for the browser tests"; \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends chromium chromium-driver; } || { \
	    echo "NOTE: installing chromium failed: the browser tests will skip (fail under CI=true)"; \
	    [ "$$CI" != true ]; }; \
	else \
	  echo "NOTE: $(CHROMIUM) is missing and this is not root with apt-get: the browser tests will skip"; \
	  echo "      (fail under CI=true). Install it with: sudo apt-get install chromium chromium-driver"; \
	fi

## Run the example ETL pipeline on the local AWS Batch emulator, then show a summary.
demo: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m airflow_batch_plugin.localrun batch_etl

## Lint, then type-check beside the test suite (`suite`): fails if either fails.
test: install browser lint
	@$(MAKE) --no-print-directory -j2 typecheck suite

## Every test (unit, emulator integration, Airflow end to end) on TEST_WORKERS pytest-xdist
## workers: most end-to-end tests wait (on jobs, on Airflow), so more workers than cores. Each
## worker has its own emulator and Airflow homes; the tests of a module (and those sharing the
## api-server of etl_stack) stay on one worker, slowest modules first (see tests/conftest.py).
## --durations=30 shows in CI's log where the time goes.
TEST_WORKERS ?= 4
suite: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -p no:cacheprovider \
	  -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder --durations=30

## The version matrix: a venv per older supported Airflow minor (3.0, 3.1, 3.2) with the newest
## dependencies it accepts, and one on Airflow 3.0 with every direct dependency at its declared
## floor; each runs the unit tests and the README, deferrable, @task.batch and deferral-timeout
## runs on the emulator (see .ci/compat_matrix.py). Then the release checks.
test-compat: install package-check
	$(BIN)/python .ci/compat_matrix.py

## Build the sdist and wheel (no deprecation warning allowed), `twine check --strict` them, install
## the wheel alone in a fresh venv and import every public name (see .ci/package_check.py).
package-check: install
	$(BIN)/python .ci/package_check.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/python -m pytest -p no:cacheprovider tests/unit

clean:
	rm -rf $(VENV) .airflow .compat build dist *.egg-info .mypy_cache .ruff_cache
