# crrt: `make run` installs and starts crrt with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

.PHONY: install run test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# On SQLite `crrt serve` runs the jobs too (its embedded worker): mail goes, timers fire.
run: install
	$(BIN)/crrt db upgrade
	$(BIN)/crrt demo load --if-empty
	@echo "crrt serves on http://$(HOST):$(PORT)"
	$(BIN)/crrt serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/mypy
	$(BIN)/python -m pytest -n auto --cov=crrt --cov-report=term:skip-covered $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check crrt tests bench

bench: install
	$(BIN)/python bench/api_reads.py

clean:
	rm -rf $(VENV) var .pytest_cache .coverage htmlcov *.egg-info
