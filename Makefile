# Hearth: `make run` serves the demo on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run PORT=9000` (or HOST=…) passes a flag; left unset, HEARTH_PORT, HEARTH_HOST and
# HEARTH_VAR_DIR from the environment apply (else 127.0.0.1:8080 and ./var).
HOST ?=
PORT ?=

.PHONY: run test lint format messages vendor clean

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

# ESLint for the browser code, pinned in web/package-lock.json; reinstalled when that changes.
# It lives in web/node_modules, outside web/static, so it is never served.
WEB_TOOLS := web/node_modules/.installed
ESLINT := web/node_modules/.bin/eslint --config web/eslint.config.js web/static/js tests/js

$(WEB_TOOLS): web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund
	touch $@

run: $(VENV)/.installed-run
	$(BIN)/hearth db upgrade
	$(BIN)/hearth serve --demo $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

# Runs unit, integration and browser tests; on PostgreSQL too when
# HEARTH_TEST_DATABASE_URL names one (e.g. postgresql://postgres@127.0.0.1:5432/test).
# Bytecode caches stay on for the tests even where the environment turns them off
# (PYTHONDONTWRITEBYTECODE): otherwise every xdist worker, and every server or media worker
# process a test starts, compiles Hearth and rewrites every test module's asserts again,
# about 8 s of CPU each time.
test: export PYTHONDONTWRITEBYTECODE :=
test: $(VENV)/.installed-test $(WEB_TOOLS)
	$(BIN)/ruff check server signaling encounters media tests bench
	$(BIN)/ruff format --check server signaling encounters media tests bench
	$(ESLINT)
	@# mypy checks types beside the tests, which leave part of the two cores idle while they
	@# wait on sockets and timers; each one's failure still fails the target.
	@# Tests marked "alone" (they judge a link's loss on loopback, where a starved machine
	@# loses packets too) run afterwards, one at a time, with the machine to themselves.
	@$(BIN)/python -m mypy server signaling media encounters > $(VENV)/mypy.log 2>&1 & types=$$!; \
	$(BIN)/python -m pytest -p no:cacheprovider -n $(or $(PYTEST_WORKERS),3) --dist loadgroup \
	  -m "not alone"; tests=$$?; \
	$(BIN)/python -m pytest -p no:cacheprovider -m alone; alone=$$?; \
	wait $$types; typed=$$?; echo "mypy:"; cat $(VENV)/mypy.log; \
	test $$tests -eq 0 && test $$alone -eq 0 && test $$typed -eq 0

lint: $(VENV)/.installed-test $(WEB_TOOLS)
	$(BIN)/ruff check server signaling encounters media tests bench
	$(BIN)/ruff format --check server signaling encounters media tests bench
	$(ESLINT)

format: $(VENV)/.installed-test
	$(BIN)/ruff format server signaling encounters media tests bench
	$(BIN)/ruff check --fix server signaling encounters media tests bench

# Extract translatable strings and compile the catalogues in web/locale.
messages: $(VENV)/.installed-run
	$(BIN)/pybabel extract -F babel.cfg -k plural_choices:1,2 -k ApiError:3 -k render_error:3 -k forbidden:1 -k unauthenticated:2 --project=Hearth --copyright-holder="The Hearth authors" -o web/locale/messages.pot .
	@for dir in web/locale/*/; do \
	  [ -d "$$dir/LC_MESSAGES" ] || continue; \
	  $(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i web/locale/messages.pot -d web/locale -l $$(basename $$dir); \
	done
	$(BIN)/pybabel compile -d web/locale

# Third-party browser code, vendored with its version and licence (never fetched at run time).
SOCKET_IO_CLIENT := 4.8.4
UPLOT := 1.6.32
vendor:
	rm -rf build/vendor && mkdir -p build/vendor web/static/vendor/socket.io
	cd build/vendor && npm pack --silent socket.io-client@$(SOCKET_IO_CLIENT) && tar xzf socket.io-client-*.tgz
	cp build/vendor/package/dist/socket.io.esm.min.js build/vendor/package/LICENSE web/static/vendor/socket.io/
	sed -i 's|//# sourceMappingURL=.*||' web/static/vendor/socket.io/socket.io.esm.min.js
	echo "socket.io-client $(SOCKET_IO_CLIENT) (npm), dist/socket.io.esm.min.js. MIT licence: see LICENSE. Refresh with \`make vendor\`." > web/static/vendor/socket.io/VERSION
	cd build/vendor && npm pack --silent uplot@$(UPLOT) && tar xzf uplot-*.tgz --one-top-level=uplot
	mkdir -p web/static/vendor/uplot
	cp build/vendor/uplot/package/dist/uPlot.esm.js build/vendor/uplot/package/dist/uPlot.min.css build/vendor/uplot/package/LICENSE web/static/vendor/uplot/
	echo "uplot $(UPLOT) (npm), dist/uPlot.esm.js and dist/uPlot.min.css. MIT licence: see LICENSE. Refresh with \`make vendor\`." > web/static/vendor/uplot/VERSION

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache web/node_modules
