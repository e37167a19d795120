# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
VENV_COPICK := .venv-copick
PY := $(VENV)/bin/python
PY_COPICK := $(VENV_COPICK)/bin/python
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: help venv venv-copick test test-new test-copick demo bench lint format clean

help:
	@echo "make demo   build a demo project and time a few queries (creates .venv)"
	@echo "make test   run the test suite in .venv (zarr 3) and .venv-copick (copick 1.31, zarr 2.18)"
	@echo "make bench  run the benchmarks and rewrite docs/performance.md"
	@echo "make lint   ruff check, ruff format --check and the import-linter layer contracts"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) --upgrade pip
	$(PY) -m pip install $(PIP_FLAGS) -e '.[test,bench]'
	touch $@

$(VENV_COPICK)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV_COPICK)
	$(PY_COPICK) -m pip install $(PIP_FLAGS) --upgrade pip
	$(PY_COPICK) -m pip install $(PIP_FLAGS) 'copick==1.31.*' 'copick-utils==1.10.*' -e '.[test,bench]'
	touch $@

venv: $(VENV)/.installed
venv-copick: $(VENV_COPICK)/.installed

test: test-new test-copick

test-new: venv
	$(VENV)/bin/ruff check copick_db tests benchmarks migrations
	$(VENV)/bin/ruff format --check copick_db tests benchmarks migrations
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

test-copick: venv-copick
	$(PY_COPICK) -m pytest -q

demo: venv
	$(PY) -m copick_db.demo demo-project

bench: venv venv-copick
	$(PY) benchmarks/run_all.py --copick-python $(PY_COPICK)

lint: venv
	$(VENV)/bin/ruff check copick_db tests benchmarks migrations
	$(VENV)/bin/ruff format --check copick_db tests benchmarks migrations
	$(VENV)/bin/lint-imports --no-cache

format: venv
	$(VENV)/bin/ruff check --fix copick_db tests benchmarks migrations
	$(VENV)/bin/ruff format copick_db tests benchmarks migrations

clean:
	rm -rf $(VENV) $(VENV_COPICK) demo-project bench-data .pytest_cache .ruff_cache dist build
