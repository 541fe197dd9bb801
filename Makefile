# crrt: `make run` installs and starts crrt with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: install install-dev run test coverage lint bench clean

# What running needs (make run), and what testing adds (make test), each installed once.
install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	@echo "== creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	@echo "== installing crrt and what it needs to run (about a minute the first time)"
	$(PIP) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	@echo "== installing crrt with its test tools (a few minutes the first time)"
	$(PIP) -e '.[dev]'
	touch $@ $(VENV)/.installed

# On SQLite `crrt serve` runs the jobs too (its embedded worker): mail goes, timers fire.
run: install
	@echo "== bringing the database up to date"
	$(BIN)/crrt db upgrade
	@echo "== loading the demo data (only into an empty database)"
	$(BIN)/crrt demo load --if-empty
	@echo "== crrt serves on http://$(HOST):$(PORT) (Ctrl-C stops it)"
	$(BIN)/crrt serve --host $(HOST) --port $(PORT)

test: install-dev
	@echo "== type-checking crrt (mypy --strict)"
	$(BIN)/mypy
	@echo "== running the tests in parallel (the layer contracts among them)"
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# The same suite under coverage: about twice as slow, so on demand rather than in every run.
coverage: install-dev
	$(BIN)/python -m pytest -n auto --cov=crrt --cov-report=term:skip-covered $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check crrt tests bench

bench: install-dev
	$(BIN)/python bench/api_reads.py

clean:
	rm -rf $(VENV) var .pytest_cache .coverage htmlcov *.egg-info
