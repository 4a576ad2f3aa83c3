# Two commands on a fresh machine with Python 3.11+ and make: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PG_UP := $(shell $(PYTHON) -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null && echo yes)

.PHONY: run test lint typecheck test-sqlite test-postgres test-browser messages clean bench bench-profile

$(VENV)/.runtime: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.lock
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

# The join link the demo prints names the address `serve` will use (`make run PORT=8123`).
SERVED_HOST := $(if $(filter 0.0.0.0 ::,$(HOST)),127.0.0.1,$(HOST))
run: $(VENV)/.runtime
	$(BIN)/greenledger migrate
	GREENLEDGER_BASE_URL=$${GREENLEDGER_BASE_URL:-http://$(SERVED_HOST):$(PORT)} $(BIN)/greenledger seed-demo
	GREENLEDGER_LOG_FORMAT=$${GREENLEDGER_LOG_FORMAT:-text} $(BIN)/greenledger serve --host $(HOST) --port $(PORT)

# The two engines' passes run side by side (two processes for the machine's two cores; each
# waits on its database much of the time), each on its own Redis database: the SQLite pass on
# GREENLEDGER_TEST_REDIS_URL (db 15 unless set), the PostgreSQL pass on PG_REDIS_URL. Their
# output is shown pass by pass, each when it ends. In CI (GREENLEDGER_REQUIRE_SERVICES=1) the
# fault runs and the backup drill follow the SQLite pass, while the longer PostgreSQL side
# (direct, then through PgBouncer) still runs.
PG_REDIS_URL ?= redis://127.0.0.1:6379/13
test: lint typecheck
	$(MAKE) --no-print-directory -j2 --output-sync=recurse sqlite-side test-postgres

.PHONY: sqlite-side
sqlite-side: test-sqlite
ifneq ($(GREENLEDGER_REQUIRE_SERVICES),)
	$(MAKE) --no-print-directory chaos drill
endif

lint: $(VENV)/.dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy

test-sqlite: $(VENV)/.dev
	GREENLEDGER_TEST_DB=sqlite $(BIN)/pytest

# The integration and API tests again on PostgreSQL; CI (GREENLEDGER_REQUIRE_SERVICES=1) requires it.
# All of them directly, then the API tests marked `pgbouncer` once more through a PgBouncer in
# transaction mode (tests/conftest.py starts one on a private port; apt-get install pgbouncer):
# the paths PgBouncer changes (no statement cache, a server connection per transaction): sign-in
# and sessions, the credit, batch, spending and adjustment writes, readiness, the pool gauge.
# (Everything through it took ~12 min for what ~4 min do directly.)
test-postgres: $(VENV)/.dev
ifeq ($(PG_UP)$(GREENLEDGER_REQUIRE_SERVICES),)
	@echo "SKIPPED the PostgreSQL pass: nothing listens on 127.0.0.1:5432 (CI requires it)"
else
	GREENLEDGER_TEST_REDIS_URL=$(PG_REDIS_URL) GREENLEDGER_TEST_DB=postgres \
		$(BIN)/pytest tests/integration tests/api
	GREENLEDGER_TEST_REDIS_URL=$(PG_REDIS_URL) GREENLEDGER_TEST_DB=postgres \
		GREENLEDGER_TEST_PGBOUNCER=1 $(BIN)/pytest -m pgbouncer tests/api
endif

# The pages in headless Chromium (apt-get install chromium fonts-noto-cjk); screenshots/.
test-browser: $(VENV)/.dev
	$(BIN)/pytest -m browser tests/browser

# After changing page text: refresh the catalogs, then translate what is new in
# api/locales/zh_CN/LC_MESSAGES/messages.po (tests/api/test_pages_i18n.py checks it).
# Nothing is compiled: the app reads the .po files at start-up.
messages: $(VENV)/.dev
	$(BIN)/pybabel extract -F babel.cfg -o api/locales/messages.pot --no-location --sort-output \
		--project=greenledger --version=1 .
	$(BIN)/pybabel update -i api/locales/messages.pot -d api/locales --no-fuzzy-matching

# Issue 7: every measurement side by side in one run (~10-15 min); the table goes to
# docs/BENCHMARKS.md and docs/benchmarks.json. Needs PostgreSQL and Redis on 127.0.0.1; uses
# only bench_* databases and Redis db 14. BENCH_ARGS=--quick for a short smoke run.
PEERS := .venv-peers
TOOLS := .venv-tools

bench: $(VENV)/.runtime $(PEERS)/.installed
	$(BIN)/python -m bench $(BENCH_ARGS)

# django-hordak for the peer comparison (../shared/peers/), in its own virtualenv.
$(PEERS)/.installed:
	$(PYTHON) -m venv $(PEERS)
	echo '*' > $(PEERS)/.gitignore
	$(PEERS)/bin/pip install --quiet 'django-hordak==2.0.0' 'django==5.0.14' 'psycopg2-binary==2.9.13'
	touch $@

# A py-spy profile of the ledger-service phase (docs/BENCHMARKS.md, "Profile").
bench-profile: $(VENV)/.runtime $(TOOLS)/.installed
	$(BIN)/python -m bench.profile --py-spy $(TOOLS)/bin/py-spy

$(TOOLS)/.installed:
	$(PYTHON) -m venv $(TOOLS)
	echo '*' > $(TOOLS)/.gitignore
	$(TOOLS)/bin/pip install --quiet 'py-spy==0.4.3'
	touch $@

clean:
	rm -rf $(VENV) $(PEERS) $(TOOLS) var .pytest_cache .mypy_cache .ruff_cache

# Faults (Redis killed, PostgreSQL restarted, an API worker killed, the sealer's connection cut)
# under a retrying load, and the exact-count races through two API processes: on a PostgreSQL
# cluster and a Redis that tests/chaos starts and stops itself (never the shared 5432/6379).
# Needs initdb/pg_ctl and redis-server; a few minutes. Figures under "chaos figures".
.PHONY: chaos
chaos: $(VENV)/.dev
	GREENLEDGER_CHAOS=1 $(BIN)/pytest --confcutdir=tests/chaos -v tests/chaos

# Issue 17: the point-in-time recovery drill (docs/OPERATIONS.md, "Backup and restore"): a
# private PostgreSQL cluster with WAL archiving, credits, a base backup, a restore to a noted
# time in a second cluster, `greenledger verify` on it. Never the shared 5432; about a minute.
.PHONY: drill
drill: $(VENV)/.dev
	GREENLEDGER_DRILL=1 $(BIN)/pytest --confcutdir=tests/drill -v -s tests/drill
