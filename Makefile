# Everyday tasks. `make lint` and `make test` are what CI runs (through .ci/run).

VENV := .venv
BIN := $(VENV)/bin
# Rebuilt only when the lock or pyproject.toml change.
STAMP := $(VENV)/.installed
PYTEST_ARGS ?= -q
DEMO_ARGS ?=
# pip-compile keeps the pins already in lock.txt; `make lock LOCK_ARGS=--upgrade` moves every pin to the newest.
LOCK_ARGS ?=
LOCK_COMMAND := pip-compile --quiet --extra=dev --strip-extras --no-emit-index-url --no-emit-find-links \
	--output-file=requirements/lock.txt $(LOCK_ARGS) pyproject.toml

# What the tests need from Debian, installed by scripts/install-test-deps when missing (as root, or through sudo;
# otherwise it prints the command to run and fails). The PostgreSQL server only when DATABASE_URL names no database.
TEST_NEEDS := python-venv chromium $(if $(DATABASE_URL),,postgresql)

.PHONY: venv demo test test-deps test-sqlite test-pg lint lock

venv: $(STAMP)

$(STAMP): requirements/lock.txt pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
		{ command -v python3.11 >/dev/null 2>&1 && python3.11 -m venv $(VENV); } || python3 -m venv --clear $(VENV); \
	fi
	$(BIN)/pip install --quiet -r requirements/lock.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

demo: venv
	$(BIN)/kopilka demo $(DEMO_ARGS)

test-deps:
	@scripts/install-test-deps $(TEST_NEEDS)

# Both runs always happen; the target fails if either does (pytest's 5, "no tests collected", is a failure too).
test: test-deps
	@status=0; \
	$(MAKE) --no-print-directory test-sqlite || status=1; \
	$(MAKE) --no-print-directory test-pg || status=1; \
	exit $$status

test-sqlite: venv
	@scripts/install-test-deps chromium
	@echo "== tests on SQLite"
	env -u DATABASE_URL $(BIN)/pytest $(PYTEST_ARGS)

# On the PostgreSQL that DATABASE_URL names, or else on a throwaway cluster of the installed server.
test-pg: venv
	@scripts/install-test-deps chromium $(if $(DATABASE_URL),,postgresql)
	@if [ -n "$$DATABASE_URL" ]; then \
		case "$$DATABASE_URL" in postgres://*|postgresql://*) ;; \
		*) echo "DATABASE_URL does not name a PostgreSQL database" >&2; exit 2;; esac; \
		echo "== tests on PostgreSQL (DATABASE_URL)"; \
		$(BIN)/pytest $(PYTEST_ARGS); \
	else \
		echo "== tests on PostgreSQL (throwaway cluster)"; \
		scripts/pg-throwaway $(BIN)/pytest $(PYTEST_ARGS); \
	fi

# ruff; the import contracts of the apps' floors (import-linter); the types of core, ledger, campaigns and purchases
# (mypy). Each runs even when one before it failed; the target fails if any did.
lint: venv
	@status=0; \
	echo "== ruff"; $(BIN)/ruff check || status=1; \
	echo "== import contracts"; $(BIN)/lint-imports --no-cache || status=1; \
	echo "== types"; $(BIN)/mypy || status=1; \
	exit $$status

# Regenerates requirements/lock.txt with pip-tools from a temporary virtualenv (pip-tools is no dependency).
lock:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	{ { command -v python3.11 >/dev/null 2>&1 && python3.11 -m venv "$$tmp"; } || python3 -m venv --clear "$$tmp"; } && \
	"$$tmp/bin/pip" install --quiet pip-tools && \
	"$$tmp"/bin/$(LOCK_COMMAND)
