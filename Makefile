# replication: claim YAML -> Hydra sweep -> run records -> statistics -> report.
PY       ?= .venv/bin/python
CLAIM    ?= h-ee-18
BUDGET   ?= default
LAUNCHER ?= parallel
ARGS     ?=

export HF_DATASETS_OFFLINE := 1
export HF_HUB_OFFLINE := 1
export MPLBACKEND := Agg
export OMP_NUM_THREADS := 1

.DEFAULT_GOAL := help
.PHONY: help setup test test-all lint replicate report validate list calibrate merge nightly clean-smoke

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: .venv/.installed ## create .venv and install the pinned dependencies

.venv/.installed: pyproject.toml
	python3 -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	.venv/bin/python data/prepare_fashion_mnist.py
	touch $@

test: ## run the test suite (unit tests and smoke replicates of every claim; ~10 min)
	$(PY) -m pytest -q

test-all: ## run every test, including those marked slow
	$(PY) -m pytest -q -m ""

lint: ## ruff check of the package, plugin and tests
	$(PY) -m ruff check replication hydra_plugins tests

replicate: ## run CLAIM's sweep and write its report (BUDGET=default|smoke|long|gpu, LAUNCHER=parallel|basic)
	$(PY) -m replication replicate $(CLAIM) --budget $(BUDGET) --launcher $(LAUNCHER) $(ARGS)

report: ## re-render CLAIM's report from its existing run records (no training)
	$(PY) -m replication report $(CLAIM) --budget $(BUDGET) $(ARGS)

validate: ## check every claim file: the guard, the schema, and every run config composed and built
	$(PY) -m replication validate $(ARGS)

list: ## list the claims
	$(PY) -m replication list

calibrate: ## simulate the verdict engine's error rates -> reports/calibration.md (~8 min)
	$(PY) -m replication calibrate

merge: ## merge runs folders from other machines into runs/ by record identity (FROM="dir ...")
	$(PY) -m replication merge $(FROM)

nightly: ## re-run every claim (nightly budget) and diff verdicts with reports/verdicts.json (ACCEPT=1)
	$(PY) -m replication nightly --launcher $(LAUNCHER) $(if $(ACCEPT),--accept) $(if $(FRESH),--fresh) $(ARGS)

clean-smoke: ## delete smoke- and nightly-budget records and reports
	rm -rf runs/_smoke reports/_smoke runs/_nightly reports/_nightly .submitit
