# envsnap developer tasks. Everything runs from a project-local virtualenv in .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
RUN_STAMP := $(VENV)/.installed-run

.PHONY: help run test lint bench clean

## help: list the targets below
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# envsnap alone, as a user installs it (no dev tools: a capture of .venv then holds what a
# user's environment holds); `make test` adds the dev tools on top.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $(RUN_STAMP)

## run: install envsnap into .venv and capture this environment into ./envsnap-capture/
run: $(RUN_STAMP)
	$(BIN)/envsnap capture -o envsnap-capture
	@echo "envsnap is installed at $(BIN)/envsnap (or run: . $(BIN)/activate)"

## test: install the dev tools into .venv and run the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff and mypy, as CI runs them
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## bench: issue 21's speed targets, each PASS or FAIL in a closing summary: capture against
##        uv pip freeze and pip freeze (30/300/3000 dists), check against python -c pass,
##        repro's overhead, render, fleet (a few minutes); BENCH_ARGS passes options to
##        bench/run.py: --runs N, --json, --full (numerics battery, torchrun, 1 GiB repro
##        compares), --docker (image builds), --suite (test suite times, 10-30 minutes)
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
