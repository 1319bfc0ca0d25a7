# `make run` and `make test` work on a fresh clone: they create .venv when it is missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The browser tests drive Debian's Chromium: Playwright's own browser download cannot run on a closed network.
CHROMIUM := $(shell command -v chromium || command -v chromium-browser)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The files mutation testing mutates, as mutmut names their mutants (module path, then the function).
# The rules that matter: certificates and signatures, flow control, the plugins' rules and the submit use case.
MUTATE := certs.* flowcontrol.* exchange.functions.*.rules.* exchange.services.submit.*
# CI's time-bounded sample: a fixed list of 60 mutants spread over every package in $(MUTATE).
MUTATE_SAMPLE := tests/mutation_sample.txt

# The PostgreSQL tests start a throw-away cluster with the distribution's initdb and pg_ctl (see tests/postgres.py).
INITDB := $(wildcard /usr/lib/postgresql/*/bin/initdb)
# End-to-end journeys `make test` runs a second time with the event store and the read models in PostgreSQL.
POSTGRES_E2E := tests/e2e/test_walkthrough.py tests/e2e/test_translog.py tests/e2e/test_archive.py \
	tests/e2e/test_fan_out.py tests/e2e/test_flow_control.py tests/e2e/test_events.py

.PHONY: run test lint clean browser tools postgres cluster mutate mutate-sample screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/idx serve --data-dir ./var --demo

# Two exchanges (ports 8081 and 8082) sharing PostgreSQL and a three-node NATS cluster, all under ./var/cluster;
# Ctrl-C stops all of it. docs/deploy.md describes the same on real machines.
cluster: $(STAMP) postgres
	$(BIN)/idx cluster --dir ./var/cluster

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

browser:
ifeq ($(CHROMIUM),)
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium
endif

postgres:
ifeq ($(INITDB),)
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q postgresql
endif

# The interop tests call openssl, the README's examples curl and jq: no test may skip for a missing tool.
tools:
	@if ! command -v openssl >/dev/null || ! command -v curl >/dev/null || ! command -v jq >/dev/null; then \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q openssl curl jq; \
	fi

# The suite includes schemathesis over the OpenAPI document (about a minute; `-m "not schemathesis"` leaves it out).
test: $(STAMP) lint browser tools postgres
	$(BIN)/pytest
	$(BIN)/pytest --on-postgres $(POSTGRES_E2E)
	$(MAKE) --no-print-directory mutate-sample

# The web app's screenshots in docs/screenshots, updated on purpose: the browser tests write them there only when
# IDX_SCREENSHOTS names the folder (otherwise into a temporary one).
screenshots: $(STAMP) browser
	IDX_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest $(wildcard tests/e2e/test_web_*.py) \
		tests/e2e/test_ssm_publications.py tests/e2e/test_prudential.py

# Mutation testing over $(MUTATE) with the unit tests as the runner (configured in pyproject.toml, [tool.mutmut]).
# Slow (about an hour on two cores), so not part of `make test`; docs/testing.md records the scores.
mutate: $(STAMP)
	$(BIN)/mutmut run --max-children 2 $(MUTATE)
	$(BIN)/python -m tests.mutation_score $(MUTATE)

# Part of `make test`: the fixed sample, a few minutes on two cores. Fails on any sampled mutant that survives and
# is not one of the known survivors docs/testing.md names, and on a sampled name that is no longer a mutant.
mutate-sample: $(STAMP)
	$(BIN)/mutmut run --max-children 2 $$(grep -v '^#' $(MUTATE_SAMPLE))
	$(BIN)/python -m tests.mutation_score --fail-on-new --sample

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache mutants
