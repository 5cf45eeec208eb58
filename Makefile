# envsnap developer tasks. Everything runs from a project-local virtualenv in .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
RUN_STAMP := $(VENV)/.installed-run

.PHONY: help run test test-fast lint bench clean

# The tests start envsnap hundreds of times: let Python keep its bytecode (__pycache__, ignored
# by git) even where the shell asks it not to, or every start compiles envsnap again.
#
# Two workers (pytest-xdist), each test file on one of them (module fixtures are made once):
# the fast tier is CPU-bound in subprocesses, the whole suite waits on Docker builds.
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n 2 --dist loadfile
FAST   := -m "not slow and not docker and not cluster"

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
	$(PYTEST) $(PYTEST_ARGS)

## test-fast: the inner loop: every test but those marked slow, docker or cluster
test-fast: $(STAMP)
	$(PYTEST) $(FAST) $(PYTEST_ARGS)

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
