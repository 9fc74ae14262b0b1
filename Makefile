# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test install postgres chromium lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,neural,text,plot,spark,serve]"
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

## run: set up, fetch the default dataset (ml-100k), train, then serve the API and the web page
run: install
	$(BIN)/movierec data fetch ml-100k
	$(BIN)/movierec data info --dataset ml-100k
	$(BIN)/movierec train --model hybrid   # the served default: see "Taste-following" in README.md
	$(BIN)/movierec top -k 10
	$(BIN)/movierec recommend --user 1 -k 5
	@echo "serving http://127.0.0.1:8000 (API docs at /docs); Ctrl-C to stop"
	$(BIN)/movierec serve --host 127.0.0.1 --port 8000

## test: set up and run the whole suite (installs Debian's PostgreSQL for the store tests)
test: install postgres chromium
	$(BIN)/python -m pytest -q

# PostgreSQL binaries for the store tests' throw-away server; skipped with a note when it
# cannot be installed (not root, no apt-get), and those tests then skip with a reason.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
	    apt-get install -y -qq --no-install-recommends postgresql >/dev/null; } || \
	  echo "PostgreSQL not installed: its store tests will be skipped"

# Debian's Chromium for the browser tests (never `playwright install`: it downloads browsers)
chromium:
	@test -x /usr/bin/chromium || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
	    apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
	  echo "Chromium not installed: the browser tests will be skipped"

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## bench: every benchmark (minutes; each writes bench/results/*.json)
bench: install
	$(BIN)/python -m pip install -q -e ".[bench]"
	$(BIN)/python bench/load.py
	$(BIN)/python bench/content.py
	$(BIN)/python bench/vs_peers.py
	$(BIN)/python bench/published.py
	$(BIN)/python bench/store.py
	$(BIN)/python bench/online.py
	$(BIN)/python bench/neural.py
	$(BIN)/python bench/taste.py
	$(BIN)/python bench/personas.py
	$(BIN)/python bench/neighbours.py
	$(BIN)/python bench/onboarding.py
	$(BIN)/python bench/find.py
	$(BIN)/python -m pip install -q -e ".[serve]"
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/lowrank.py
	$(BIN)/python bench/scale.py   # about an hour: 1M, 10M and 33.8M ratings beside the peers

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
