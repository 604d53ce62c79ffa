# dothi — `make demo` to try it, `make test` to check it. `make help` lists the rest.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help setup demo test test-pg test-sqlite test-browser services browser lint messages bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"
	@touch $(STAMP)

setup: $(STAMP) messages ## Create .venv, install dothi and its dependencies (idempotent)

messages: $(STAMP) ## Compile the translations
	@command -v msgfmt >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null)
	@for po in src/dothi/*/locale/*/LC_MESSAGES/django.po; do msgfmt --check -o "$${po%.po}.mo" "$$po" || exit 1; done

demo: setup ## Set up, seed the demo city if empty, and serve it on http://127.0.0.1:8000
	$(BIN)/dothi demo --host $(HOST) --port $(PORT)

services: ## Start PostgreSQL, Mosquitto and Redis if they are down
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
	@(exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null || mosquitto -d -c /etc/mosquitto/mosquitto.conf
	@(exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null

browser: ## Install Debian's chromium for the browser tests if it is missing
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

test: setup services browser lint ## Run the whole suite: everything on PostgreSQL, unit and API tests on SQLite
	@# The two runs side by side (each is shown when it ends): the PostgreSQL run waits on the database
	@# much of the time, which leaves room on a 2-core machine for the SQLite run.
	$(MAKE) --no-print-directory -j2 --output-sync=target test-pg test-sqlite

test-pg: ## The full suite (browser tests included) on PostgreSQL
	DOTHI_DATABASE_URL=$(PG_URL) DOTHI_DATA_DIR=$$(mktemp -d) DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest

test-sqlite: ## Unit and API tests on SQLite
	env -u DOTHI_DATABASE_URL DOTHI_DATA_DIR=$$(mktemp -d) $(BIN)/pytest -m "not browser and not postgres"

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .

bench: setup services ## Run every benchmark and write docs/performance.md
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	@for b in bench/bench_*.py; do [ -e "$$b" ] || continue; echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## Remove the demo data (var/)
	rm -rf var
