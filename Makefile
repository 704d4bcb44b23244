# The two commands of the README: `make run` and `make test`. Everything else here is what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app run
VENDOR := crm/static/vendor

.PHONY: run test setup install assets translations chromium lint serve messages clean

run: setup
	$(FLASK) db upgrade
	$(FLASK) crm sync-roles
	$(FLASK) crm seed-demo --if-empty
	$(FLASK) crm serve

test: setup chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: install assets translations

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Front-end packages come from npm (package-lock.json); their dist files are copied into a git-ignored folder.
assets: $(VENDOR)/.copied

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

$(VENDOR)/.copied: node_modules/.installed scripts/vendor-assets.sh
	sh scripts/vendor-assets.sh $(VENDOR)
	touch $@

# Compiled catalogues (.mo) are build output; the .po files are the source.
translations: install
	$(BIN)/pybabel compile --statistics -d crm/translations 2>&1 | grep -v '^compiling' || true

# Browser tests drive Debian's Chromium; install it when the machine lacks it and we may.
chromium:
	sh scripts/ensure-chromium.sh

# Extract new strings and merge them into the catalogues (for developers; see docs/i18n.md).
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o crm/translations/messages.pot .
	$(BIN)/pybabel update -i crm/translations/messages.pot -d crm/translations --no-fuzzy-matching --ignore-obsolete

lint: install
	$(BIN)/ruff check crm tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) node_modules $(VENDOR)
