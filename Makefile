# The two commands of the README: `make up` runs plantops, `make test` passes the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: up test lint bench clean

# The venv and plantops in it, installed with uv when it can be had, else with pip
# (PLANTOPS_INSTALLER=pip forces pip); both use the package index pip is configured with.
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "plantops needs Python 3.11 or newer")'
	$(PYTHON) -m workers.bootstrap $(VENV) -e ".[test]"
	@touch $@

up: $(VENV)/.installed
	$(BIN)/plantops up

test: $(VENV)/.installed
	$(PYTHON) -m workers.bootstrap --chromium
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
