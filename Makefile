# Hearth: `make run` serves the demo on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test lint format messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/hearth db upgrade
	$(BIN)/hearth serve --demo --host $(HOST) --port $(PORT)

# Runs unit, integration and browser tests; on PostgreSQL too when
# HEARTH_TEST_DATABASE_URL names one (e.g. postgresql://postgres@127.0.0.1:5432/test).
test: $(VENV)/.installed-test
	$(BIN)/ruff check server signaling encounters media tests bench
	$(BIN)/python -m pytest -p no:cacheprovider

lint: $(VENV)/.installed-test
	$(BIN)/ruff check server signaling encounters media tests bench
	$(BIN)/ruff format --check server signaling encounters media tests bench

format: $(VENV)/.installed-test
	$(BIN)/ruff format server signaling encounters media tests bench
	$(BIN)/ruff check --fix server signaling encounters media tests bench

# Extract translatable strings and compile the catalogues in web/locale.
messages: $(VENV)/.installed-run
	$(BIN)/pybabel extract -F babel.cfg -o web/locale/messages.pot .
	@for dir in web/locale/*/; do \
	  [ -d "$$dir/LC_MESSAGES" ] || continue; \
	  $(BIN)/pybabel update -i web/locale/messages.pot -d web/locale -l $$(basename $$dir); \
	done
	$(BIN)/pybabel compile -d web/locale --use-fuzzy || true

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
