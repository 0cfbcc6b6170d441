# Two commands matter: `make start` (serve the app locally) and `make test`.
# Everything installs itself: .venv from requirements*.txt, Azurite from package-lock.json.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: install start test bench load clean

install: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

start: install
	$(PY) -m tagging.local.start

test: install
	$(PY) -m pytest

bench: install
	$(PY) -m bench

load: install
	$(PY) -m bench.load

clean:
	rm -rf $(VENV) node_modules .azurite .pytest_cache
