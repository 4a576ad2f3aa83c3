# Two commands on a fresh machine with Python 3.11+ and make: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PG_UP := $(shell $(PYTHON) -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null && echo yes)

.PHONY: run test lint typecheck test-sqlite test-postgres clean

$(VENV)/.runtime: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.lock
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

run: $(VENV)/.runtime
	$(BIN)/greenledger migrate
	$(BIN)/greenledger seed-demo
	$(BIN)/greenledger serve --host $(HOST) --port $(PORT)

test: lint typecheck test-sqlite test-postgres

lint: $(VENV)/.dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy

test-sqlite: $(VENV)/.dev
	GREENLEDGER_TEST_DB=sqlite $(BIN)/pytest

# The integration and API tests again on PostgreSQL; CI (GREENLEDGER_REQUIRE_SERVICES=1) requires it.
test-postgres: $(VENV)/.dev
ifeq ($(PG_UP)$(GREENLEDGER_REQUIRE_SERVICES),)
	@echo "SKIPPED the PostgreSQL pass: nothing listens on 127.0.0.1:5432 (CI requires it)"
else
	GREENLEDGER_TEST_DB=postgres $(BIN)/pytest tests/integration tests/api
endif

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
