# montage — `make run` starts the server, `make test` runs every check.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
DATA_DIR ?= ./montage-data
STAMP := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0

.PHONY: run test chaos setup system-deps lint typecheck unit integration e2e bench bench-setup clean

run: setup
	@echo "montage: http://$(HOST):$(PORT)/ui  (API docs http://$(HOST):$(PORT)/docs)"
	$(VENV)/bin/montage serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

test: setup lint typecheck
	$(VENV)/bin/pytest -q -ra

setup: system-deps $(STAMP)

# Debian packages the generators need (CJK, Latin and colour emoji fonts for slides). Installs only what is missing.
system-deps:
	@bash scripts/system-deps.sh

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	@# CPU PyTorch first (the embedding model needs it); an unpinned torch would pull a multi-GB CUDA build.
	$(PIP) install -q 'torch==$(TORCH_VERSION)'
	$(PIP) install -q -e '.[dev]'
	@touch $(STAMP)

lint:
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/lint-imports

typecheck:
	$(VENV)/bin/mypy

# Fault tests over several real processes on PostgreSQL (MONTAGE_TEST_POSTGRES_URL); minutes, not seconds.
# CHAOS_KILLS sets how many times the kill -9 test kills a worker (default 20).
chaos: setup
	$(VENV)/bin/pytest -q -ra -m chaos tests/chaos

unit: setup
	$(VENV)/bin/pytest -q tests/unit

integration: setup
	$(VENV)/bin/pytest -q tests/integration

e2e: setup
	$(VENV)/bin/pytest -q tests/e2e

# The benchmarks' own clients and peers (aiohttp pollers, Celery on Redis), on top of setup.
bench-setup: setup
	$(PIP) install -q -e '.[dev,bench]'

bench: bench-setup
	$(PY) bench/engine.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
