# One venv, created on first use from PyPI; every target goes through it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ROOT ?= var
PORT ?= 8001

TOOLS := chromium:chromium promtool:prometheus

.PHONY: install tools run test check bench clean

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

## tools: the programs some tests drive (Chromium for the dashboard, promtool for /metrics), from Debian when
## missing and apt-get can run; without them those tests skip (CI sets COMPUTEADVISOR_REQUIRE_ALL=1: they fail)
tools:
	@missing=""; for pair in $(TOOLS); do command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing$$missing from Debian"; \
	    apt-get install -y -q $$missing >/dev/null 2>&1 || \
	      (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $$missing >/dev/null 2>&1) || \
	      echo "could not install$$missing: the tests that need them will skip"; \
	  else echo "not installed:$$missing (Debian packages): the tests that need them will skip"; fi; \
	fi

## test: the whole test suite
test: $(STAMP) tools
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
