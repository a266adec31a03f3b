# Docket's developer entry points. `make dev` runs everything locally; `make test` runs the whole suite.
# Both bootstrap themselves on a fresh machine that has only Python 3.11+ and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
SERVICES := core api worker web
PYTEST_ARGS ?=

export UV_SYSTEM_CERTS ?= 1
export UV_PYTHON_DOWNLOADS := never
export UV_NO_PROGRESS := 1

.PHONY: help install dev test lint fmt typecheck lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(UV): requirements/bootstrap.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q --disable-pip-version-check --require-hashes -r requirements/bootstrap.txt
	@touch $@

$(VENV)/.installed: $(UV) requirements/dev.txt $(foreach s,$(SERVICES),services/$(s)/pyproject.toml)
	$(UV) venv -q --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip sync -q --python $(PY) --require-hashes requirements/dev.txt
	$(UV) pip install -q --python $(PY) --no-deps --no-build-isolation $(foreach s,$(SERVICES),-e services/$(s))
	@touch $@

install: $(VENV)/.installed ## create .venv from the hashed pins (idempotent)

dev: install ## run Docket locally: embedded PostgreSQL and Redis, migrations, api, worker and web
	$(PY) scripts/dev.py

test: install ## install everything needed and run the whole suite
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install ## ruff (lint and format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: install ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

lock: $(UV) ## re-resolve dependencies and rewrite the URL-free hashed pins under requirements/
	$(UV) lock
	$(UV) export -q --format requirements-txt --no-emit-workspace --all-packages --group dev -o requirements/dev.txt
	for s in api worker web; do \
	  $(UV) export -q --format requirements-txt --no-emit-workspace --no-dev --package docket-$$s -o requirements/$$s.txt; \
	done
	for f in build pgclient checkov; do \
	  $(UV) pip compile -q --generate-hashes --universal --python-version 3.11 requirements/in/$$f.in -o requirements/$$f.txt; \
	done

clean: ## remove the virtualenvs and caches
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache .dev
