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

test: install checkov-env ## install everything needed (checkov in its own venv too) and run the whole suite
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

# ---- container images ----------------------------------------------------------------------------------
# `make images` builds docket-{api,worker,web}:$(IMAGE_TAG) from the Dockerfile's targets of those names
# (context: the repo root) with BuildKit, and docket-worker:$(IMAGE_TAG)-slim, the worker target without
# Tesseract (--build-arg WITH_OCR=false: its builder stages are the cached ones, so it costs seconds);
# `make image-test` builds them (cached) and runs tests/images against them.
# BASE_IMAGE picks the base of all three (CI passes the local stand-in that ../shared/tools/
# local-base-image.sh builds, since no registry is reachable there). When CA_BUNDLE names a readable file
# it is passed as the optional build secret `ca` (a TLS-intercepting proxy's CA): mounted only into the
# RUN steps that download, never stored in a layer. `make images CA_BUNDLE=` builds without it.
# BuildKit: `docker buildx build --load` when buildx is installed; otherwise a docker CLI older than 23
# (Debian's docker.io puts 20.10 at /usr/bin/docker) still builds with BuildKit under DOCKER_BUILDKIT=1.
# CLIs from 23 on refuse DOCKER_BUILDKIT=1 without buildx, and the classic builder has no RUN --mount.
IMAGE_SERVICES := api worker web
IMAGE_TAG ?= dev
BASE_IMAGE ?= python:3.12-slim-bookworm
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
DOCKER ?= docker
# OCI labels; `created` and SOURCE_DATE_EPOCH come from the commit, so a rebuild of it is identical
IMAGE_REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
IMAGE_VERSION ?= $(shell git describe --tags --always 2>/dev/null)
IMAGE_CREATED ?= $(shell git log -1 --format=%cI 2>/dev/null)
IMAGE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
IMAGE_SOURCE ?= $(shell git config --get remote.origin.url 2>/dev/null | sed -E 's#^(https?://)[^@/]*@#\1#')

.PHONY: images image-test

images: ## build the api, worker and web images with BuildKit (BASE_IMAGE=… picks the base)
	@set -euo pipefail; \
	$(DOCKER) info >/dev/null 2>&1 || { echo "images: no Docker engine answers (../shared/tools/docker-up.sh starts one)" >&2; exit 1; }; \
	build=(); \
	if $(DOCKER) buildx version >/dev/null 2>&1; then build=($(DOCKER) buildx build --load); \
	else for cli in $(DOCKER) /usr/bin/docker; do \
	  version=$$($$cli version --format '{{.Client.Version}}' 2>/dev/null || true); \
	  case "$$version" in [0-9].*|1[0-9].*|2[0-2].*) build=(env DOCKER_BUILDKIT=1 $$cli build); break;; esac; \
	done; fi; \
	(($${#build[@]})) || { echo "images: need BuildKit: install docker buildx, or a docker CLI before 23" >&2; exit 1; }; \
	secret=(); if [ -n "$(CA_BUNDLE)" ] && [ -r "$(CA_BUNDLE)" ]; then secret=(--secret "id=ca,src=$(CA_BUNDLE)"); fi; \
	args=(--build-arg BASE_IMAGE=$(BASE_IMAGE) --build-arg SOURCE_DATE_EPOCH=$(IMAGE_EPOCH) \
	  --build-arg "SOURCE_URL=$(IMAGE_SOURCE)" --build-arg "REVISION=$(IMAGE_REVISION)" \
	  --build-arg "VERSION=$(IMAGE_VERSION)" --build-arg "CREATED=$(IMAGE_CREATED)"); \
	for s in $(IMAGE_SERVICES); do \
	  start=$$(date +%s); \
	  echo "images: building docket-$$s:$(IMAGE_TAG) on $(BASE_IMAGE) with: $${build[*]}"; \
	  "$${build[@]}" --target $$s -t docket-$$s:$(IMAGE_TAG) "$${secret[@]}" "$${args[@]}" . ; \
	  if [ "$$s" = worker ]; then \
	    "$${build[@]}" --target worker -t docket-worker:$(IMAGE_TAG)-slim "$${secret[@]}" \
	      "$${args[@]}" --build-arg WITH_OCR=false . ; \
	  fi; \
	  echo "images: docket-$$s:$(IMAGE_TAG) built in $$(( $$(date +%s) - start ))s"; \
	  $(DOCKER) image prune -f --filter dangling=true --filter label=org.opencontainers.image.title=docket-$$s >/dev/null; \
	done

image-test: install images ## build the images (cached) and run the image tests against them
	DOCKET_IMAGE_TAG=$(IMAGE_TAG) $(VENV)/bin/pytest tests/images $(PYTEST_ARGS)
# ---- end of container images ---------------------------------------------------------------------------

# ---- cluster rehearsal (tests/rehearsal) -----------------------------------------------------------------
# `make rehearse` renders the umbrella chart with tests/rehearsal/values.yaml and runs it in Docker as a
# kubelet would (hooks, probes, rolling updates) behind a local nginx, then runs every scenario of #17
# (docs/rehearsal.md). It builds the images first (cached) and installs Debian's nginx when missing.
# `.ci/run` runs the CI subset within `make test` (REHEARSE=ci).
.PHONY: rehearse

rehearse: install images ## run the chart in Docker behind nginx and rehearse every scenario (docs/rehearsal.md)
	@[ -x /usr/sbin/nginx ] && [ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || { echo "rehearse: installing nginx from apt"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx libnginx-mod-stream >/dev/null; }
	REHEARSE=all DOCKET_IMAGE_TAG=$(IMAGE_TAG) $(VENV)/bin/pytest tests/rehearsal -p no:cacheprovider -rs $(PYTEST_ARGS)
# ---- end of cluster rehearsal

# ---- Helm charts and Kubernetes manifests (charts/, k8s/, tests/charts/) ------------------------
# checkov pins conflict with the kubernetes client, so it lives in its own venv under .tools/.
CHECKOV_VENV := $(TOOLS)/checkov

.PHONY: checkov-env charts-test charts-docs charts-deps charts

# `make charts CHART_VERSION=1.2.3 APP_VERSION=1.2.3` packages every chart, the library too, into
# $(CHARTS_DIST)/<chart>-<version>.tgz with its dependencies inside. The versions are set in a copy
# (each chart's version and appVersion, and the umbrella's dependency versions), never in git;
# unset, they come from each Chart.yaml. The directory is emptied first, so it holds one release.
CHART_VERSION ?=
APP_VERSION ?=
CHARTS_DIST ?= dist/charts

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --disable-pip-version-check --require-hashes -r requirements/checkov.txt
	@touch $@

checkov-env: $(CHECKOV_VENV)/.installed ## install checkov into .tools/checkov from its hashed pins (idempotent)

charts-test: install checkov-env ## render, lint, validate and checkov the Helm charts (tests/charts)
	$(VENV)/bin/pytest tests/charts $(PYTEST_ARGS)

charts-deps: install ## build each chart's file:// dependencies into charts/*/charts/ (offline, in dependency order)
	$(PY) charts/tools/chartpack.py deps

charts: install ## package every chart with its dependencies into dist/charts/ (CHART_VERSION=, APP_VERSION=)
	$(PY) charts/tools/chartpack.py package --destination "$(CHARTS_DIST)" \
	  $(if $(CHART_VERSION),--version "$(CHART_VERSION)") $(if $(APP_VERSION),--app-version "$(APP_VERSION)")

charts-docs: install ## regenerate the charts' values.schema.json and README parameter tables
	PYTHONPATH=charts/tools $(PY) -m chartgen

# ---- benchmarks (bench/) -------------------------------------------------------------------------------
# `make bench` starts embedded PostgreSQL and Redis and Docket's real services under their production
# server settings, seeds 10,000 documents, and measures them against a bare reference app, pgbench and
# granian (see bench/README.md). ONLY picks sections (read,server,search,memory,upload,worker,backup,images,pooler,detail);
# DURATION is the seconds of each load run; ROUNDS the alternated rounds (>= 3); WORKERS the API's server
# processes; BACKUP_MB the blobs added before the backup section; PROFILE=1 records a py-spy flame graph
# of the read path into bench/profiles/. Figures: stdout and bench/results/.
# wrk comes from apt when missing; granian is installed into a scratch directory, never into the pins.
ONLY ?=
DURATION ?= 10
ROUNDS ?= 3
BENCH_WORKERS ?= $(or $(WORKERS),1)
BACKUP_MB ?= 256
BENCH_ARGS ?=
PROFILE ?=

.PHONY: bench

bench: install ## benchmarks vs a bare app, pgbench and granian: ONLY=read,worker DURATION=10 (bench/README.md)
	@command -v wrk >/dev/null || { echo "bench: installing wrk from apt"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(PY) -m bench.run --only "$(ONLY)" --duration $(DURATION) --rounds $(ROUNDS) --workers $(BENCH_WORKERS) \
	  --backup-mb $(BACKUP_MB) --image-tag $(IMAGE_TAG) $(if $(PROFILE),--profile) $(BENCH_ARGS)
