# GBC Blackjack backend. `make dev` runs the whole system locally; `make test` runs the tests.
# Both create .venv and install what they need on first use.
SHELL := /bin/bash
export SAM_CLI_TELEMETRY := 0
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .venv-tools
# Where Lambda finds code (/opt/python for the layer, /var/task for a function), the venv finds it
# through one .pth file: handler module paths are the same under SAM, the local stack and the tests.
CODE_PATHS := layers/common functions/api functions/workers functions/chain_poller functions/realtime .
PTH := $(VENV)/lib/python3.11/site-packages/gbc-code.pth

PORT ?= 3000
EVENT ?= events/api_health.json
FN ?= ApiFunction
ARGS ?=

.PHONY: browser dev reset-dev test test-unit lint format template-check build deploy invoke migrate bench clean venv \
        tools redrive bench-house-edge bench-compare bench-chain contracts test-reliability

venv: $(VENV)/.installed $(PTH)

$(VENV)/.installed: requirements-dev.txt layers/common/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(PTH): Makefile | $(VENV)/.installed
	printf '%s\n' $(foreach p,$(CODE_PATHS),$(abspath $(p))) > $@

tools: $(TOOLS)/.installed

$(TOOLS)/.installed: requirements-tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet -r requirements-tools.txt
	touch $@

## The local stack: PostgreSQL, Redis, SQS (moto), the API on :$(PORT), workers and schedules.
dev: venv
	$(PY) -m devstack up --port $(PORT) $(ARGS)

## The same, starting from empty data.
reset-dev: venv
	$(PY) -m devstack up --port $(PORT) --reset $(ARGS)

## Invoke one function once with an event file, like `sam local invoke -e`.
invoke: venv
	$(PY) -m devstack invoke $(FN) --event $(EVENT)

migrate: venv
	$(PY) -m devstack migrate

## Debian's Chromium for the browser test of /play (playwright drives it; its own browser download
## cannot work here). Installed once with apt-get when missing; CHROMIUM=/path uses another.
browser:
	@command -v chromium >/dev/null || test -x "$${CHROMIUM:-/nonexistent}" || \
		{ echo "installing Debian's chromium for the browser test"; \
		  $$(command -v sudo) apt-get update -q && DEBIAN_FRONTEND=noninteractive $$(command -v sudo) apt-get install -y -q chromium; }

test: venv browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/common/gbc functions devstack bench
	$(VENV)/bin/pytest

## The reliability suite with full budgets: schemathesis, load + invariants, leaks, faults (~7 min).
test-reliability: venv
	RELIABILITY_FULL=1 $(VENV)/bin/pytest tests/reliability $(ARGS)

test-unit: venv
	$(VENV)/bin/pytest tests/unit

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/common/gbc functions devstack bench

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Rewrite the committed OpenAPI document (functions/api/openapi.json) from the routes; a test fails while it drifts.
.PHONY: openapi
openapi: venv
	$(PY) -m gbc.api.openapi

## cfn-lint, sam validate --lint and sam build, from the tools virtualenv (offline, no Docker).
template-check: tools
	$(TOOLS)/bin/cfn-lint template.yaml
	$(TOOLS)/bin/sam validate --lint --region us-east-1
	$(TOOLS)/bin/sam build --parallel --cached

## Lambda's code directories are read-only, so Python can write no .pyc there: without them each
## cold start compiles every module it imports from source (~50 ms for the project's own code alone).
## The build ships them, hash-based (zip archives keep mtimes at 2 s, which would void mtime-based ones).
build: tools
	$(TOOLS)/bin/sam build --parallel --cached
	$(TOOLS)/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build

deploy: build
	$(TOOLS)/bin/sam deploy --config-env $(or $(ENV),dev)

bench: venv
	$(PY) -m bench $(ARGS)

## The seed's profile comparison: the same workload with the cache off and on, plus scaling curves.
bench-compare: venv
	$(PY) -m bench.compare $(ARGS)

## The chain poller: logs stored/credited per second, and chain event -> credited balance latency.
bench-chain: venv
	$(PY) -m bench.chain $(ARGS)

## Basic strategy through the real engine; fails unless the house edge lands in 0.2-0.6 %.
bench-house-edge: venv
	$(PY) -m bench.house_edge --hands $(or $(HANDS),4000000) --processes 2 --seed $(or $(SEED),20261125)

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache bench/results

## Compile contracts/*.vy (Vyper, offline) to the committed artifacts in contracts/build/.
contracts: venv
	$(PY) -m contracts.compile

## DLQ redrive on the local stack: `make redrive` lists, `make redrive ARGS=--move` moves back.
redrive: venv
	$(PY) -m devstack redrive --queue $(or $(QUEUE),jobs) $(ARGS)
