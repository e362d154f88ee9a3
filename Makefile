# Marketplace governance warehouse. `make demo` and `make test` are all a newcomer needs.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SCALE ?= small
SEED ?= 42

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_PROFILES_DIR := $(CURDIR)

.PHONY: help install demo generate build summary test lint pytest clean

help:
	@echo "make demo     set up .venv, generate the demo marketplace, build the warehouse, print a summary"
	@echo "make test     everything CI runs: install, lint (sqlfluff, ruff), pytest incl. a dbt build"
	@echo "make build    dbt build against \$$GOVERNANCE_RAW_DIR (default data/raw)"
	@echo "make clean    remove generated data, the warehouse and dbt artefacts"

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/.installed

generate: install
	$(BIN)/governance generate --scale $(SCALE) --seed $(SEED)

build: install
	$(BIN)/governance build

summary: install
	$(BIN)/governance summary

demo: install
	$(BIN)/governance generate --scale $(SCALE) --seed $(SEED)
	$(BIN)/governance build

lint: install
	$(BIN)/ruff check python tests
	$(BIN)/ruff format --check python tests
	GOVERNANCE_DUCKDB_PATH=:memory: $(BIN)/sqlfluff lint models analyses tests/dbt

pytest: install
	$(BIN)/pytest

test: lint pytest

clean:
	rm -rf data warehouse target logs
