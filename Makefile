# Every target installs what it needs first, so each works on a fresh clone; all are idempotent.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PYTHON := $(VENV)/bin/python
# The Python 3.11 every venv here is made from (Glue 5.0 runs 3.11; pyproject requires it):
# python3.11 on PATH, pyenv's, uv's, or else one installed with uv into the user's data folder
# (scripts/find_python311.sh). Looked up once, and only when a venv has to be made. To choose
# one: make setup PYTHON311=/path/to/python3.11
ifndef PYTHON311
PYTHON311 = $(eval PYTHON311 := $$(shell scripts/find_python311.sh --provision .venv-bootstrap))$(PYTHON311)
endif
# $(call python311_venv,DIR): make DIR a Python 3.11 venv, replacing one made from another Python
# (say the machine's python3 3.12, which pip refuses for this project).
define python311_venv
	@$(1)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { \
		python311='$(PYTHON311)'; test -n "$$python311" || exit 1; \
		echo "Creating $(1) with $$python311"; rm -rf $(1); "$$python311" -m venv $(1); }
endef
CHECKOV_VENV := .venv-checkov
STAGE ?= dev
# cdk deploy asks before widening IAM or security groups; CI (no terminal) deploys with never.
APPROVAL ?= broadening
# jsii and the CDK CLI need Node 22 or 24 (Node 20 is past end of life). Use the machine's Node
# when it is new enough, else a copy installed from the npm registry into .node/ (not system-wide).
NODE_VERSION := 22.23.3
NODE_ARCH := $(subst aarch64,arm64,$(subst x86_64,x64,$(shell uname -m)))
LOCAL_NODE_BIN := $(CURDIR)/.node/node_modules/node-linux-$(NODE_ARCH)/bin
SYSTEM_NODE_OK := $(shell node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 22 ? 0 : 1)' 2>/dev/null && echo yes)
NODE_STAMP := $(if $(SYSTEM_NODE_OK),,.node/.installed)
export PATH := $(if $(SYSTEM_NODE_OK),,$(LOCAL_NODE_BIN):)$(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
CDK := $(CURDIR)/node_modules/.bin/cdk
# Stands in, for synth and tests only, for the alert address a stage requires (prod) while
# cdk.json names none yet. On .invalid, which never receives mail; deploy and diff never pass it.
SYNTH_ONLY_EMAIL := etl-alerts@synth-only.invalid
PY_SOURCES := app.py stacks lambdas glue_jobs etl_local rehearsal $(wildcard bench)
# The deploy rehearsal's AWS emulator lives in a venv of its own: it pins its own botocore.
EMULATOR_VENV := .venv-emulator

.PHONY: help setup test lint format synth deploy diff destroy demo bench rerun clean rehearse

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: $(VENV)/.installed $(CHECKOV_VENV)/.installed node_modules/.installed $(NODE_STAMP) ## Python 3.11 venvs, pinned npm tools, Node >= 22

$(VENV)/.installed: pyproject.toml
	$(call python311_venv,$(VENV))
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	@touch $@

# checkov in its own venv: it pins boto3, packaging and networkx below the project's versions.
$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	$(call python311_venv,$(CHECKOV_VENV))
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(EMULATOR_VENV)/.installed: rehearsal/emulator-requirements.txt
	$(call python311_venv,$(EMULATOR_VENV))
	$(EMULATOR_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r rehearsal/emulator-requirements.txt
	@touch $@

.node/.installed:
	npm install --prefix .node --no-save --no-audit --no-fund --loglevel=error node-linux-$(NODE_ARCH)@$(NODE_VERSION)
	@touch $@

# The deploy rehearsal (mostly waiting on Node and the emulator) runs beside the test suite; its
# log is printed after the tests. Two pytest workers: tests/conftest.py says what shares one.
test: setup lint synth $(EMULATOR_VENV)/.installed ## Lint, synth every stage, run every test (cdk-nag, cfn-lint, checkov), rehearse the deploy
	@mkdir -p .rehearsal
	@$(PYTHON) -m rehearsal.run --stage dev > .rehearsal/test-run.log 2>&1 & rehearsal=$$!; \
	$(PYTHON) -m pytest -n 2 --dist loadgroup --durations=10; tests=$$?; \
	wait $$rehearsal; rehearsed=$$?; \
	echo; echo "--- deploy rehearsal (make rehearse), run beside the tests:"; \
	cat .rehearsal/test-run.log; \
	test $$tests -eq 0 && test $$rehearsed -eq 0

rehearse: setup $(EMULATOR_VENV)/.installed ## Deploy dev into a local AWS emulator, drive it, destroy it
	$(PYTHON) -m rehearsal.run --stage dev

lint: setup ## ruff (lint + format), mypy, actionlint on the CI workflow
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(PY_SOURCES)
	$(VENV)/bin/actionlint .github/workflows/*.yml

format: setup ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

synth: setup ## Synthesize every stage into cdk.out/ (cdk-nag runs as part of synth)
	$(CDK) synth --quiet -c synth_only_notification_email=$(SYNTH_ONLY_EMAIL)

deploy: setup ## Deploy one stage: make deploy STAGE=prod
	$(CDK) deploy -c stage=$(STAGE) --require-approval $(APPROVAL)

diff: setup ## Show what a deploy of STAGE would change
	$(CDK) diff -c stage=$(STAGE)

destroy: setup ## Delete one stage's stack (prod buckets and keys are retained)
	$(CDK) destroy -c stage=$(STAGE)

rerun: setup ## Reprocess a deployed batch: make rerun STAGE=dev BATCH=2026-11-20 [SINGLE=1] [PREFIX=incoming/<file or folder/>]
	@test -n "$(BATCH)" || { echo "make rerun: set BATCH=<batch id>"; exit 2; }
	$(PYTHON) -m lambdas.trigger.rerun --stack EtlPipeline-$(STAGE) --batch-id '$(BATCH)' $(if $(SINGLE),--single-object) $(if $(PREFIX),--batch-prefix '$(PREFIX)')

demo: setup ## Run the whole pipeline offline on generated sample data
	$(VENV)/bin/etl-local demo

bench: setup ## Benchmarks; results go to bench/RESULTS.md
	$(PYTHON) -m bench.run

clean: ## Remove generated files (keeps the venv and node_modules)
	rm -rf cdk.out .demo .rehearsal bench/.data .pytest_cache .mypy_cache .ruff_cache
