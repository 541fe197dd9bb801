# crrt: `make run` installs and starts crrt with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=
UV_VERSION := 0.13.9
UV     := $(BIN)/uv
# Installs take the exact versions of the lock files (hashes checked), never newer ones.
INSTALL := $(UV) pip install --quiet --python $(BIN)/python

.PHONY: install install-dev run test coverage lint lock messages bench clean

# What running needs (make run), and what testing adds (make test), each installed once.
install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(BIN)/python:
	@echo "== creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)

$(UV): | $(BIN)/python
	@echo "== installing the installer (uv $(UV_VERSION))"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml requirements/run.lock | $(UV)
	@echo "== installing crrt and what it needs to run (requirements/run.lock)"
	$(INSTALL) --require-hashes -r requirements/run.lock
	$(INSTALL) --no-deps -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml requirements/dev.lock package-lock.json | $(UV)
	@echo "== installing crrt with its test tools (requirements/dev.lock)"
	$(INSTALL) --require-hashes -r requirements/dev.lock
	$(INSTALL) --no-deps -e .
	@if command -v npm >/dev/null 2>&1; then \
		echo "== installing axe-core for the browser tests' accessibility checks (package-lock.json)"; \
		npm ci --no-audit --no-fund --silent; \
	else echo "== npm not found: the accessibility checks will be skipped (CI installs it)"; fi
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
	$(BIN)/python -m pytest -n auto --dist worksteal $(PYTEST_ARGS)

# The same suite under coverage: about twice as slow, so on demand rather than in every run.
coverage: install-dev
	$(BIN)/python -m pytest -n auto --dist worksteal --cov=crrt --cov-report=term:skip-covered $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check crrt tests bench

# After changing the dependencies in pyproject.toml: new lock files, then commit them.
lock: | $(UV)
	$(UV) pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
		--quiet -o requirements/run.lock
	$(UV) pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --quiet -o requirements/dev.lock

# After changing a page's words: extract them (babel.cfg) and add the new ones to every
# language's catalogue, to be translated there (the suite fails until each is).
messages: install-dev
	$(BIN)/pybabel extract -F babel.cfg -c "Translators:" --no-location --sort-output \
		--project=crrt --version=0.1.0 --msgid-bugs-address=crrt@localhost \
		-o crrt/web/locale/messages.pot .
	$(BIN)/pybabel update -i crrt/web/locale/messages.pot -d crrt/web/locale -D messages \
		--no-fuzzy-matching --ignore-obsolete

# Every benchmark in turn, on SQLite in temporary folders; each prints its figures
# (docs/benchmarks.md says what they mean and how to run one on PostgreSQL).
bench: install-dev
	$(BIN)/python bench/api_reads.py
	$(BIN)/python bench/audit_chain.py
	$(BIN)/python bench/hostile_input.py
	$(BIN)/python bench/import_hostile.py
	$(BIN)/python bench/signin_stall.py

clean:
	rm -rf $(VENV) var .pytest_cache .coverage htmlcov *.egg-info
