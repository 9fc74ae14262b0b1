# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test install lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

## run: set up, fetch the default dataset (ml-100k) and describe it
run: install
	$(BIN)/movierec data fetch ml-100k
	$(BIN)/movierec data info --dataset ml-100k

## test: set up and run the whole suite
test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests bench

## bench: the load benchmark (minutes; writes bench/results/load.json)
bench: install
	$(BIN)/python -m pip install -q -e ".[bench]"
	$(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
