# Hermes: `make run` sets everything up and runs the daily job on the bundled data;
# `make test` runs every quality gate. Both create .venv on first use.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PYTHONDONTWRITEBYTECODE := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
# mkdocs-material: no banner about its successor in every docs build
export NO_MKDOCS_2_WARNING := 1

.PHONY: setup run test lint sql-lint sql-lint-full sql-lint-incremental py-lint typecheck pytest browser screenshot quality docs dbt-docs bench minio-up minio-down clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

run: setup
	$(BIN)/hermes run

# every quality gate, then its wall time (lint and pytest together)
test: setup
	@start=$$(date +%s); $(MAKE) --no-print-directory lint pytest; \
	status=$$?; elapsed=$$(( $$(date +%s) - start )); \
	echo "make test wall time: $$(( elapsed / 60 )) min $$(( elapsed % 60 )) s"; exit $$status

# the lint steps are single-threaded: run side by side (LINT_JOBS at a time), each step's
# output printed whole when it ends
LINT_JOBS ?= 4
lint: setup
	@$(MAKE) --no-print-directory --jobs=$(LINT_JOBS) --output-sync=target \
		sql-lint py-lint typecheck docs

# sqlfluff's dbt templater compiles the project against a throw-away lake and target folder
# (created first: `dbt compile` only reads, and refuses a missing lake); on a fresh lake
# is_incremental() is false, so a second pass lints the incremental models (and the signal
# models and the cursor's followers, through signal_incremental() and cursor_incremental())
# again with their incremental branches rendered (.sqlfluff-incremental). The passes run
# side by side, each on a lake of its own (a DuckDB catalog is opened by one process at a
# time)
LINT_DIR := target/sqlfluff
sql-lint: sql-lint-full sql-lint-incremental

sql-lint-full: setup
	HERMES_LAKE_ROOT=$(LINT_DIR)/lake $(BIN)/python -c \
		"from hermes.lake import connect; connect().close()"
	HERMES_LAKE_ROOT=$(LINT_DIR)/lake DBT_TARGET_PATH=$(LINT_DIR)/target \
		$(BIN)/sqlfluff lint models macros tests

sql-lint-incremental: setup
	HERMES_LAKE_ROOT=$(LINT_DIR)/lake-incremental $(BIN)/python -c \
		"from hermes.lake import connect; connect().close()"
	HERMES_LAKE_ROOT=$(LINT_DIR)/lake-incremental DBT_TARGET_PATH=$(LINT_DIR)/target-incremental \
		$(BIN)/sqlfluff lint --config .sqlfluff-incremental \
		$$(grep -rlE --include='*.sql' 'is_incremental\(\)|signal_incremental\(\)|cursor_incremental\(\)' models)

py-lint: setup
	$(BIN)/ruff check python bench
	$(BIN)/ruff format --check python bench

typecheck: setup
	$(BIN)/mypy

# pytest builds the bundled data with `dbt build` (data tests included) and runs the quality
# checkpoint on it; coverage of python/hermes below [tool.coverage.report] fail_under fails
# on PYTEST_WORKERS pytest-xdist workers (0: one process), test files kept whole on a worker
# (--dist loadgroup: python/tests/conftest.py makes each file a group, and puts the files
# sharing a per-worker server or lake in one) so module fixtures are built once, and sent in
# the conftest's order, heaviest first (--no-loadscope-reorder); session lakes are built once
# and copied; the 25 slowest steps are listed at the end, with the wall time
PYTEST_WORKERS ?= 2
pytest: setup browser
	@start=$$(date +%s); \
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder --durations=25 \
		--cov --cov-report=term-missing:skip-covered --cov-fail-under=90; \
	status=$$?; elapsed=$$(( $$(date +%s) - start )); \
	echo "pytest wall time: $$(( elapsed / 60 )) min $$(( elapsed % 60 )) s"; exit $$status

# headless Chromium for the page tests (python/tests/report): Debian's package, installed when
# missing and we are root (CI); otherwise say so, and the tests say they were skipped and why
browser:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
		else echo "chromium missing and not root: the page tests will be skipped (apt-get install chromium)"; fi; }

# docs/tearsheet.png: the tearsheet of the lake's busiest single run (after `make run`)
screenshot: setup browser
	$(BIN)/python -m hermes.report.browser --latest docs/tearsheet.png

# the Great Expectations checkpoint on the current lake (./lake or HERMES_LAKE_ROOT)
quality: setup
	$(BIN)/hermes quality

# the documentation site (mkdocs.yml, docs/) in target/site, strict: a warning, a broken link or
# anchor, or a page missing from the nav fails; offline (no web fonts, no CDN). Not --quiet: mkdocs
# then no longer counts the warnings strict mode fails on
docs: setup
	$(BIN)/mkdocs build --strict

# dbt's own documentation site of the models, tests and lineage (target/index.html) from the
# current lake (./lake or HERMES_LAKE_ROOT); `.venv/bin/dbt docs serve` serves it
dbt-docs: setup
	$(BIN)/dbt docs generate

bench: setup
	$(BIN)/python -m bench

minio-up:
	@test -f .env || { echo "create .env first (docs/operations.md: Running on MinIO / S3)"; exit 1; }
	docker compose up -d minio minio-init

minio-down:
	docker compose down

# the lake's local Prefect server (hermes server) keeps its database in lake/_prefect
clean:
	-@test -x $(BIN)/hermes && $(BIN)/hermes server stop
	rm -rf lake target logs
