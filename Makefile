# buurtkas: two commands on a fresh machine (Python 3.11+ and make):
#   make run    create the environment, load the demo history, print one demo token per
#               role and start the HTTP service on SQLite (http://127.0.0.1:8000/schema)
#   make test   create the same environment, run lint, type checks and the whole suite

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format venv clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "buurtkas needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

HOST ?= 127.0.0.1
PORT ?= 8000
RUN_ENV := BUURTKAS_DATABASE_URL=sqlite:///buurtkas.db

run: $(STAMP)
	$(RUN_ENV) $(BIN)/buurtkas demo
	$(RUN_ENV) $(BIN)/buurtkas project > /dev/null
	@echo "Demo bearer tokens (shown once; only their SHA-256 is stored):"
	@for role in official auditor viewer; do \
		printf '  %-28s ' "$$role"; \
		$(RUN_ENV) BUURTKAS_LOG_LEVEL=warning $(BIN)/buurtkas token create --role $$role --subject "$$role:demo" || exit 1; \
	done
	@printf '  %-28s ' "treasurer (K-buurt)"; \
		$(RUN_ENV) BUURTKAS_LOG_LEVEL=warning $(BIN)/buurtkas token create --role treasurer --platform K-buurt --subject "treasurer:demo@k-buurt"
	@echo "API and interactive docs: http://$(HOST):$(PORT)/schema"
	$(RUN_ENV) $(BIN)/buurtkas serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n 2 -q

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis buurtkas.db
