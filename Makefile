# Opportunity Hub: one-word chores. `make run` and `make test` set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RECORDING ?= ../shared/data/web/recorded.warc.gz
GEO ?= ../shared/data/geo

.PHONY: setup run test lint clean

$(BIN)/hub: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(BIN)/hub

setup: $(BIN)/hub

# the main job, on the recorded sources
run: setup
	HUB_GEO_DIR=$${HUB_GEO_DIR:-$(GEO)} $(BIN)/hub run --replay $(RECORDING)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) data/hub.sqlite data/prefect
