# The two commands a newcomer runs: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install environments demo test lint reliability bench clean

# checkov gets a virtual environment of its own: it pins old versions of shared packages and
# ships a fork of python-hcl2 under the same module name, which would break the contract tests.
CHECKOV_PIN := checkov>=3.2,<4

CHECKOV := $(VENV)/checkov/bin/checkov

# --no-compile: Python compiles what is imported on first use, rather than pip all of botocore and
# checkov up front (most of an install's time).
$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e '.[dev]'
	touch $@

$(CHECKOV):
	$(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet --no-compile '$(CHECKOV_PIN)'
	touch $@

install: $(INSTALLED)

# Both virtual environments, built side by side (their parent folder first: `venv` would race to
# create it).
environments:
	mkdir -p $(VENV)
	$(MAKE) --no-print-directory --jobs=2 install $(CHECKOV)

demo: install
	$(BIN)/circuit-sandbox demo

# Lint and types first (and mypy --strict over what runs in Lambda and circuitctl): a finding fails
# the run before the slower tests start. The test files run on two workers, each file on one (its
# module-scoped emulator and applies stay together). The demo's scenario races real time against
# the machine's load, so it runs last, alone. The slowest tests are listed at the end of the run.
SCENARIO := tests/circuit_sandbox/test_scenario.py

test: environments
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy --strict lambdas circuitctl
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=15 --ignore=$(SCENARIO)
	$(BIN)/python -m pytest --no-cov $(SCENARIO)

# The pre-commit hooks over every file: terraform fmt, ruff, mypy, checkov, README tables.
lint: environments
	$(BIN)/pre-commit run --all-files

# Cost per call, time to trip and recover, cold start; writes docs/benchmarks.md.
bench: install
	$(BIN)/circuit-bench --json out/benchmarks.json

# The long profiles (10,000 examples per entry point, ten times the interleavings) and their figures.
reliability: install
	$(BIN)/python -m pytest tests/reliability --hypothesis-profile=long --no-cov -p no:randomly -n 0

clean:
	rm -rf $(VENV) out .build .pytest_cache .coverage
