# Two commands do all set-up on a fresh machine:
#   make book   -> virtual environment, install, run the study (profile cpu, reusing
#                  committed results), build the HTML book into book/_build/html
#   make test   -> virtual environment, install, run the test suite (smoke profile)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= cpu
# Where the data lives: ../shared/data when it sits beside the checkout, else ./data
# (loaders download into it where a network exists).
NAS_CORE_DATA ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),$(CURDIR)/data)
export NAS_CORE_DATA

.PHONY: book book-cached test install run clean-book benchmarks

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Execute every experiment notebook on $(PROFILE) (cached results are reused), then build.
book: install
	$(VENV)/bin/nas-study book --profile $(PROFILE)

# Render from stored results only: chapters whose results are missing get a placeholder page.
book-cached: install
	$(VENV)/bin/nas-study book --profile $(PROFILE) --cached-only

test: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q

benchmarks: install
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b; done

clean-book:
	rm -rf book/_build book/experiments
