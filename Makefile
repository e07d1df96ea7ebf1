# Two commands: `make run` processes data/raw into data/processed, `make test` runs the tests.
# Both create (or reuse) the virtual environment in .venv/ with the pinned dependencies.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: run test status bench clean

$(BIN)/newsflow: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "newsflow needs Python 3.11 or newer (set PYTHON=python3.x)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

run: $(BIN)/newsflow
	$(BIN)/newsflow run

test: $(BIN)/newsflow
	$(BIN)/python -m pytest

status: $(BIN)/newsflow
	$(BIN)/newsflow status

bench: $(BIN)/newsflow
	$(BIN)/python bench/pipeline.py --n 10000

clean:
	rm -rf data/processed/articles data/processed/rejected data/processed/.newsflow
