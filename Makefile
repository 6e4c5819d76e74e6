# CloudSense: the two commands of the README, and the pieces they are made of.
#   make demo   set up (if needed) and run the whole loop on this machine, embedded default (SQLite)
#   make test   set up (if needed) and run lint, types, import contracts and the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The throwaway test databases are created on this server (the tests make and drop their own database).
export CLOUDSENSE_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export SPARK_LOCAL_IP ?= 127.0.0.1
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck contracts pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel

# One stamp per extra set, refreshed when pyproject.toml changes.
$(VENV)/.stamp-all: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[all]'
	touch $@

$(VENV)/.stamp-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.stamp-all

demo: $(VENV)/.stamp-all
	$(BIN)/cloudsense demo

lint: $(VENV)/.stamp-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.stamp-dev
	$(BIN)/mypy

contracts: $(VENV)/.stamp-dev
	$(BIN)/lint-imports

pytest: $(VENV)/.stamp-dev
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck contracts pytest

bench: $(VENV)/.stamp-dev
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/agent_overhead.py
	$(BIN)/python bench/etl.py
	$(BIN)/python bench/train.py

clean:
	rm -rf .cloudsense build dist .pytest_cache .mypy_cache .ruff_cache
