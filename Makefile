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
CODE_PATHS := layers/common functions/api functions/workers functions/chain_poller functions/realtime functions/migrations .
PTH := $(VENV)/lib/python3.11/site-packages/gbc-code.pth

# The Lambda target (template.yaml's Globals Runtime and Architectures; a test keeps them equal). The
# artifacts are built here, without Docker, by pip for that platform: SAM's makefile build method
# calls the build-%Layer and build-%Function targets below.
LAMBDA_PYTHON := 3.13
LAMBDA_ARCH ?= arm64
PIP_ARCH := $(if $(filter arm64,$(LAMBDA_ARCH)),aarch64,x86_64)
# Amazon Linux 2023 has glibc 2.34: wheels for manylinux2014 (2.17) up to manylinux_2_34 run there.
LAMBDA_PLATFORMS := manylinux2014_$(PIP_ARCH) manylinux_2_28_$(PIP_ARCH) manylinux_2_34_$(PIP_ARCH)
LAMBDA_PIP := $(addprefix --platform ,$(LAMBDA_PLATFORMS)) --python-version $(LAMBDA_PYTHON) \
              --implementation cp --only-binary=:all: --no-deps --require-hashes
LAYER_LOCKS := layers/common/requirements.lock layers/eth/requirements.lock
# What the Lambda target installs: the layers' locks and a function's own (beside its code).
TARGET_LOCKS := $(LAYER_LOCKS) functions/migrations/requirements.lock
# A python3.13 for this machine (Debian's, unpacked under .local: lambda_build/fetch_python.sh).
HOST_ARCH := $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x86_64)
LAMBDA_PY_DIR := .local/lambda-python
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
UV ?= $(TOOLS)/bin/uv
UV_COMPILE = $(UV) pip compile --quiet --generate-hashes --custom-compile-command "make lock"
LAMBDA_UV := --python-version $(LAMBDA_PYTHON) --python-platform $(PIP_ARCH)-manylinux_2_34
LOCAL_UV := --python-version 3.11 --python-platform x86_64-manylinux_2_36
# The runtime's SDK (layers/lambda-runtime.txt): the layers are resolved with it and leave it out.
RUNTIME_SDK := boto3 botocore s3transfer urllib3

PORT ?= 3000
EVENT ?= events/api_health.json
FN ?= ApiFunction
ARGS ?=

.PHONY: browser dev reset-dev test test-unit lint format template-check build deploy deploy-data invoke migrate bench clean venv \
        tools redrive bench-house-edge bench-compare bench-chain contracts test-reliability

venv: $(VENV)/.installed $(PTH)

# From the lock (`make lock` writes it; tests/unit/test_locks.py fails while it lags requirements-dev.txt).
# The lock is the whole closure: --no-deps (pip's hash mode refuses a dependency's extras), then pip check.
$(VENV)/.installed: requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	$(PY) -m pip check
	touch $@

$(PTH): Makefile | $(VENV)/.installed
	printf '%s\n' $(foreach p,$(CODE_PATHS),$(abspath $(p))) > $@

tools: $(TOOLS)/.installed

$(TOOLS)/.installed: requirements-tools.lock
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --require-hashes --no-deps -r requirements-tools.lock
	$(TOOLS)/bin/pip check
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
	$(VENV)/bin/mypy layers/common/gbc functions devstack bench ops
	$(VENV)/bin/pytest

## The reliability suite with full budgets: schemathesis, load + invariants, leaks, faults (~7 min).
test-reliability: venv
	RELIABILITY_FULL=1 $(VENV)/bin/pytest tests/reliability $(ARGS)

test-unit: venv
	$(VENV)/bin/pytest tests/unit

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/common/gbc functions devstack bench ops

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Rewrite the committed OpenAPI document (functions/api/openapi.json) from the routes; a test fails while it drifts.
.PHONY: openapi
openapi: venv
	$(PY) -m gbc.api.openapi

## Rewrite template.yaml's CloudWatch DashboardBody from ops/dashboard.py (the panels /_local/dashboard shows too).
.PHONY: dashboard
dashboard: venv
	$(PY) -m ops.cloudwatch_dashboard

## cfn-lint, sam validate --lint and sam build, from the tools virtualenv (no Docker; sam build runs pip for the Lambda target).
template-check: tools
	$(TOOLS)/bin/cfn-lint template.yaml infra/data.yaml
	$(TOOLS)/bin/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules
	$(TOOLS)/bin/sam validate --lint --region us-east-1
	$(TOOLS)/bin/sam validate --lint --region us-east-1 -t infra/data.yaml
	$(TOOLS)/bin/sam build --parallel --cached

## Lambda's code directories are read-only, so Python can write no .pyc there: without them each
## cold start compiles every module it imports from source (~50 ms for the project's own code alone).
## The build ships them, hash-based (zip archives keep mtimes at 2 s, which would void mtime-based ones),
## compiled by a python$(LAMBDA_PYTHON) (bytecode is the same on every architecture; 3.11's would be ignored).
build: tools
	$(TOOLS)/bin/sam build --parallel --cached
	@py="$$(lambda_build/fetch_python.sh $(HOST_ARCH) $(LAMBDA_PY_DIR)/$(HOST_ARCH))" || { \
		echo "warning: no python3.13 for this host (lambda_build/fetch_python.sh uses Debian's apt-get):" \
		     "the artifacts ship without .pyc, so each cold start compiles the code (~50 ms more)"; exit 0; }; \
	$$py -m compileall -q --invalidation-mode unchecked-hash .aws-sam/build  # no -j: workers would miss its loader

## Rewrite every lock (hashes included) from its requirements file: the layers' for the Lambda target,
## the eth layer's without what the common layer has, development's and the tools' for this machine
## (Python 3.11, x86_64) with the layers' pins as constraints. tests/unit/test_locks.py fails until
## this has run after a requirements file changed.
.PHONY: lock wheels-check artifact-check
lock: $(if $(filter $(TOOLS)/bin/uv,$(UV)),tools)
	$(UV_COMPILE) $(LAMBDA_UV) $(addprefix --no-emit-package ,$(RUNTIME_SDK)) \
		-o layers/common/requirements.lock layers/common/requirements.txt layers/lambda-runtime.txt
	$(UV_COMPILE) $(LAMBDA_UV) -c layers/common/requirements.lock \
		-o layers/lambda-runtime.lock layers/lambda-runtime.txt
	$(call lock-beside-common,layers/eth)
	$(call lock-beside-common,functions/migrations)
	$(UV_COMPILE) $(LOCAL_UV) $(addprefix -c ,$(LAYER_LOCKS) layers/lambda-runtime.lock) \
		-o requirements-dev.lock requirements-dev.txt
	$(UV_COMPILE) $(LOCAL_UV) -o requirements-tools.lock requirements-tools.txt

# A lock for DIR/requirements.txt that leaves out what the common layer and the runtime have (and
# resolves with them, at their versions): it is installed beside them, with --no-deps.
define lock-beside-common
	$(UV_COMPILE) $(LAMBDA_UV) -c layers/common/requirements.lock -c layers/lambda-runtime.lock \
		$$(sed -n 's/^\([A-Za-z0-9._-]*\)==.*/--no-emit-package \1/p' layers/common/requirements.lock layers/lambda-runtime.lock) \
		-o $(1)/requirements.lock $(1)/requirements.txt layers/common/requirements.txt layers/lambda-runtime.txt
endef

## Every locked package of the layers has a wheel for the Lambda target (pip installs nothing else).
wheels-check: tools
	@for lock in $(TARGET_LOCKS); do \
		$(TOOLS)/bin/pip install --quiet --dry-run --ignore-installed --target .aws-sam/wheels-check \
			$(LAMBDA_PIP) -r $$lock >/dev/null || { echo "wheels-check: a package of $$lock has no wheel for" \
			"CPython $(LAMBDA_PYTHON) on $(LAMBDA_PLATFORMS) (pip's error above). Pin a release that has" \
			"one, or change LAMBDA_PYTHON/LAMBDA_ARCH here and in template.yaml, then make lock." >&2; exit 1; }; \
	done
	@echo "wheels-check: every package of $(TARGET_LOCKS) has a CPython $(LAMBDA_PYTHON) $(PIP_ARCH) wheel"

## Import every function's handler from the built artifacts (.aws-sam/build, after template-check or
## build) with python$(LAMBDA_PYTHON) for $(LAMBDA_ARCH) (emulated by qemu-user on another machine), only the
## function's own layers and a stand-in for the runtime's boto3 on its path; check every binary's tags.
artifact-check: wheels-check
	$(TOOLS)/bin/python lambda_build/check_artifacts.py --build-dir .aws-sam/build \
		--python "$$(lambda_build/fetch_python.sh $(LAMBDA_ARCH) $(LAMBDA_PY_DIR)/$(LAMBDA_ARCH))" \
		--compile-python "$$(lambda_build/fetch_python.sh $(HOST_ARCH) $(LAMBDA_PY_DIR)/$(HOST_ARCH))" \
		--runtime-lock layers/lambda-runtime.lock --runtime-dir $(LAMBDA_PY_DIR)/runtime-$(LAMBDA_ARCH) \
		--pip "$(TOOLS)/bin/pip" --pip-args "$(LAMBDA_PIP)"

# SAM's makefile build method (template.yaml: Metadata BuildMethod makefile) runs these in a scratch
# copy of the resource's CodeUri/ContentUri, with ARTIFACTS_DIR set. A layer: its lock, installed for the
# Lambda target, and its code (the gbc package) under python/. A function: its code as it is.
build-%Layer:
	$(ROOT)/$(TOOLS)/bin/pip install --quiet --target "$(ARTIFACTS_DIR)/python" $(LAMBDA_PIP) -r requirements.lock \
		|| { echo "build-$*Layer: no wheel for the Lambda target? make wheels-check says which" >&2; exit 1; }
	rm -rf "$(ARTIFACTS_DIR)/python/bin"
	find . -mindepth 1 -maxdepth 1 ! -name 'requirements*' ! -name __pycache__ -exec cp -RL {} "$(ARTIFACTS_DIR)/python/" \;
	find "$(ARTIFACTS_DIR)" -name __pycache__ -prune -exec rm -rf {} +

build-%Function:
	if [ -f requirements.lock ]; then $(ROOT)/$(TOOLS)/bin/pip install --quiet --target "$(ARTIFACTS_DIR)" \
		$(LAMBDA_PIP) -r requirements.lock; rm -rf "$(ARTIFACTS_DIR)/bin"; fi
	find . -mindepth 1 -maxdepth 1 ! -name 'requirements*' ! -name __pycache__ -exec cp -RL {} "$(ARTIFACTS_DIR)/" \;
	find "$(ARTIFACTS_DIR)" -name __pycache__ -prune -exec rm -rf {} +

## Deploying (README "Deploying from an empty account"): the data stack once per environment, then
## the app stack with its outputs. `make deploy-data ENV=dev`, then `make deploy ENV=dev`; extra app
## parameters with PARAMS="ChainRpcUrl=https://... VaultAddress=0x...", data stack ones with DATA_PARAMS.
ENV ?= dev
DATA_STACK ?= gbc-data-$(ENV)
# One region for both stacks: samconfig.toml's for the environment unless REGION= is given.
REGION ?= $(shell sed -n '/^\[$(ENV)\.deploy/,/^\[/s/^region = "\(.*\)"/\1/p' samconfig.toml)
PARAMS ?=
DATA_PARAMS ?=

deploy-data: tools
	$(TOOLS)/bin/cfn-lint infra/data.yaml
	$(TOOLS)/bin/sam deploy --template-file infra/data.yaml --stack-name $(DATA_STACK) --region $(REGION) \
		--capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
		--parameter-overrides Environment=$(ENV) $(DATA_PARAMS)

## The data stack's outputs (database, cache, network) and the migrations' hash go in as parameters;
## the stack's Custom::Migrations resource then runs `alembic upgrade head` in AWS.
deploy: tools
	@$(TOOLS)/bin/python -m infra.deploy_parameters --env $(ENV) --data-stack $(DATA_STACK) --region $(REGION) --check
	$(MAKE) build
	params="$$($(TOOLS)/bin/python -m infra.deploy_parameters --env $(ENV) --data-stack $(DATA_STACK) --region $(REGION) \
		--migrations-hash $$($(TOOLS)/bin/python functions/migrations/scripts_hash.py) --set '$(PARAMS)')" && \
	$(TOOLS)/bin/sam deploy --config-env $(ENV) --region $(REGION) --parameter-overrides "$$params"

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
