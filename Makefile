# The two commands of the README:
#   make demo   sets up, generates TPC-DS sample data, runs the pipeline for one refresh date through
#               the local Step Functions emulator, shows per-state timings and the daily report.
#   make test   sets up and runs the whole test suite with the lint and type checks (what CI runs).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCALE ?= 0.1
FIRST_DATE ?= 1998-01-02
HISTORY_END ?= 2002-12-30
DATE ?= 2002-12-31
CITY ?= Midway
STATE ?= TN

.PHONY: demo test lint setup clean bench bench-check notebook

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, this is {sys.version.split()[0]}: run make PYTHON=python3.11"'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(BIN)/python -m orchestrator sample-data --scale $(SCALE)
	$(BIN)/python -m orchestrator backfill --start $(FIRST_DATE) --end $(HISTORY_END)
	$(BIN)/python -m orchestrator run --date $(DATE)
	$(BIN)/python -m orchestrator report daily --city $(CITY) --state $(STATE) --date $(DATE)
	$(BIN)/python -m orchestrator report weekly --date $(DATE) --plot data/weekly_north_america.png

# The analyst's notebook in JupyterLab (the `analyst` extra), on the warehouse `make demo` filled.
notebook: setup
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,analyst]'
	$(BIN)/jupyter lab notebooks/store_sales_checks.ipynb

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/sqlfluff lint models

test: lint
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m bench

bench-check: setup
	$(BIN)/python -m pytest -m bench tests/test_bench.py

clean:
	rm -rf $(VENV) target logs data .pytest_cache .mypy_cache .ruff_cache
