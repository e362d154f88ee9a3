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
.PHONY: docs semantic-check
.PHONY: bench test-spark
.PHONY: alerts
.PHONY: dashboard dashboard-screenshots validate
.PHONY: nightly nightly-demo backfill

help:
	@printf "  make %-22s %s\n" "demo" "set up .venv, generate the demo marketplace (SCALE, SEED), build, validate, evaluate"
	@printf "  make %-22s %s\n" "test" "everything CI runs: lint, semantic check, pytest, Spark parity"
	@printf "  make %-22s %s\n" "install" "create .venv with the project and its dev tools; parse the project for MetricFlow"
	@printf "  make %-22s %s\n" "generate" "simulate a marketplace into data/raw (SCALE=tiny|small|medium|large, SEED=42)"
	@printf "  make %-22s %s\n" "build" "check-raw, dbt build with every test, atomic publish (raw files: GOVERNANCE_RAW_DIR, default data/raw)"
	@printf "  make %-22s %s\n" "summary" "print the latest value of each north-star metric"
	@printf "  make %-22s %s\n" "nightly" "one night: pre-check, incremental build (LOOKBACK=3), validation, publish (NIGHT=YYYY-MM-DD)"
	@printf "  make %-22s %s\n" "backfill" "rebuild every record from FROM=YYYY-MM-DD on (TO=YYYY-MM-DD, default the newest night)"
	@printf "  make %-22s %s\n" "nightly-demo" "three simulated nights delivered and built one after the other"
	@printf "  make %-22s %s\n" "alerts" "metric incidents open on the latest day (DATE=YYYY-MM-DD for another)"
	@printf "  make %-22s %s\n" "dashboard" "serve the Streamlit dashboard over the published warehouse, read-only (PORT=8501)"
	@printf "  make %-22s %s\n" "dashboard-screenshots" "a screenshot of every dashboard page in target/dashboard-screenshots"
	@printf "  make %-22s %s\n" "docs" "the documentation site as one page, target/static_index.html"
	@printf "  make %-22s %s\n" "validate" "Great Expectations over the published tables; Data Docs in target/gx_data_docs"
	@printf "  make %-22s %s\n" "semantic-check" "validate the MetricFlow semantic models and metrics"
	@printf "  make %-22s %s\n" "bench" "benchmark a tier (SCALE=tiny|small|medium|large): bench/results/<scale>.json"
	@printf "  make %-22s %s\n" "lint" "ruff and sqlfluff"
	@printf "  make %-22s %s\n" "pytest" "the pytest suite (dbt builds of the tiny tier included)"
	@printf "  make %-22s %s\n" "test-spark" "build the tiny tier on Apache Spark and compare it with DuckDB"
	@printf "  make %-22s %s\n" "clean" "remove generated data, the warehouse and dbt artefacts"
	@printf "  make %-22s %s\n" "help" "this list"

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

# MetricFlow (`mf`) reads the semantic manifest dbt writes when it parses the project
# (target/semantic_manifest.json): parsed at install, and again when the project changes.
SEMANTIC_MANIFEST := target/semantic_manifest.json
PROJECT_FILES := dbt_project.yml $(shell find models macros seeds -type f 2>/dev/null)

$(SEMANTIC_MANIFEST): $(BIN)/.installed $(PROJECT_FILES)
	$(BIN)/dbt parse --quiet
	@touch $@

install: $(BIN)/.installed $(SEMANTIC_MANIFEST)

generate: install
	$(BIN)/governance generate --scale $(SCALE) --seed $(SEED)

build: install
	$(BIN)/governance build

summary: install
	$(BIN)/governance summary

demo: install
	$(BIN)/governance generate --scale $(SCALE) --seed $(SEED)
	$(BIN)/governance build
	$(BIN)/governance validate
	$(BIN)/governance evaluate

lint: install
	$(BIN)/ruff check python tests models
	$(BIN)/ruff format --check python tests models
	GOVERNANCE_DUCKDB_PATH=:memory: $(BIN)/sqlfluff lint models analyses tests/dbt

# The tests build tiny warehouses of many small models: two dbt threads at once are faster there
# (large exports build one model at a time, see profiles.yml). Two pytest workers, one test file
# each at a time (a file's fixtures are built once, in its worker): much of a tiny build is one
# Python thread, so the second core would otherwise wait. PYTEST_WORKERS=0 runs them in one.
PYTEST_WORKERS ?= 2
pytest: install
	GOVERNANCE_DBT_THREADS=$${GOVERNANCE_DBT_THREADS:-2} $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

test: lint semantic-check pytest test-spark

# The documentation site as one page, target/static_index.html (after `make demo` for a full
# catalog), checked for raw PII; also saves target/docs_overview.png when Chromium is installed.
docs: install
	$(BIN)/governance docs $$(command -v chromium >/dev/null && echo --screenshot)

# MetricFlow validation of the semantic models, metrics and time spine (no warehouse needed).
semantic-check: install
	$(BIN)/governance semantic-check

# Benchmark of one scale tier (SCALE=tiny|small|medium|large): wall time and peak memory of data
# generation, one DuckDB read of the raw data (the floor), the raw load, metrics_daily computed
# with pandas and with `dbt build --select +metrics_daily` side by side (and on Spark at the tiny
# and small tiers, which install the spark extra), a full dbt build and the nightly run; writes
# bench/results/$(SCALE).json (bench/README.md). Works in bench/work/ (git-ignored).
bench: install $(if $(filter tiny small,$(SCALE)),$(BIN)/.installed-spark)
	$(BIN)/governance bench --scale $(SCALE) --seed $(SEED)

$(BIN)/.installed-spark: pyproject.toml $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	@touch $@

# Every model on Apache Spark (dbt-spark, local pyspark, Java 17), the dbt Python models included
# (docs/spark.md): builds the tiny tier on Spark and on DuckDB and compares metrics, seller
# features, anomaly flags, syndicate memberships, risk scores and alerts. Slow (minutes).
test-spark: $(BIN)/.installed-spark
	$(BIN)/pytest tests/spark

# Metric incidents open on the latest metric date (DATE=YYYY-MM-DD for another day), with the
# segments that drove them and the strategy changes that coincide: the `alerts` mart.
alerts: install
	$(BIN)/governance alerts $(if $(DATE),--date $(DATE))

# The Streamlit dashboard over the published warehouse ($$GOVERNANCE_DUCKDB_PATH, read-only) on
# http://localhost:8501 (PORT=... for another port).
dashboard: install
	$(BIN)/governance dashboard $(if $(PORT),--port $(PORT))

# A full-page screenshot of every dashboard page over the published warehouse (headless
# Chromium), into target/dashboard-screenshots/; fails when a page shows an error.
dashboard-screenshots: install
	$(BIN)/governance dashboard --screenshots target/dashboard-screenshots

# Great Expectations suites over metrics_daily, seller_features and metric_anomalies: fails on a
# critical expectation, prints warnings, writes Data Docs to target/gx_data_docs/index.html.
validate: install
	$(BIN)/governance validate

clean:
	rm -rf data warehouse target logs

# The nightly job against $GOVERNANCE_RAW_DIR: raw pre-check, incremental dbt build (lookback
# LOOKBACK days), source freshness, Great Expectations, atomic publish. NIGHT=YYYY-MM-DD to pin
# the night (default: the newest date in the raw file names).
LOOKBACK ?= 3
nightly: install
	$(BIN)/governance nightly --lookback-days $(LOOKBACK) $(if $(NIGHT),--date $(NIGHT))

# Rebuild every record dated from FROM (YYYY-MM-DD) on, publishing as of TO (default: newest night).
backfill: install
	$(BIN)/governance backfill --from $(FROM) $(if $(TO),--to $(TO)) --lookback-days $(LOOKBACK)

# Three simulated nights: the marketplace with its last 3 days held back, a first (full) night,
# then each held-back day delivered (late events included) and built incrementally.
nightly-demo: install
	$(BIN)/governance feed init --scale $(SCALE) --seed $(SEED) --holdback-days 3
	$(BIN)/governance nightly
	for night in 1 2 3; do $(BIN)/governance feed advance && $(BIN)/governance nightly --skip-freshness || exit 1; done
	$(BIN)/governance summary
