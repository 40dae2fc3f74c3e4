# One venv, created on first use from PyPI; every target goes through it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ROOT ?= var
PORT ?= 8001

.PHONY: install run test check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: serve on 127.0.0.1:$(PORT) with state under ./$(ROOT)
run: $(STAMP)
	mkdir -p $(ROOT)
	$(BIN)/computeadvisor serve --root $(ROOT) --port $(PORT)

## test: the whole test suite
test: $(STAMP)
	$(BIN)/pytest -q

## check: lint, types, layering
check: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## bench: throughput and latency against a bare Litestar app (installs wrk from Debian if missing)
bench: $(STAMP)
	bash bench/run.sh

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
