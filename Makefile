# The two commands: `make run` serves the product, `make test` runs every suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PIP := $(BIN)/pip install --quiet --disable-pip-version-check
SITE ?= site

.PHONY: run test lint bench screenshots docs translations translations-update clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed (PYTHON=$(PYTHON))."; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(PIP) -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(PIP) -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime

## run: install, migrate, seed demo data, serve on http://127.0.0.1:$${PORT:-5000} with a local SMTP sink
run: $(VENV)/.runtime translations
	$(FLASK) db upgrade
	$(FLASK) demo seed
	$(FLASK) serve

## test: install test tools and system packages (Chromium, CJK font, PostgreSQL), run every suite
test: $(VENV)/.dev translations
	./scripts/system-deps.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff (lint and format check) over the whole tree
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## bench: serve the product with gunicorn (SQLite, then PostgreSQL), load it, write bench/results/
bench: $(VENV)/.dev translations
	./scripts/system-deps.sh
	$(BIN)/python -m bench $(BENCH_ARGS)

## screenshots: walk the documented flow in Chromium (zh and en in parallel), replace every screenshot that changed, then write docs/*.md
screenshots: $(VENV)/.dev translations
	./scripts/system-deps.sh
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest -n 2 --dist loadscope e2e/test_docs_zh.py e2e/test_docs_en.py
	$(BIN)/python -m e2e.guide

## docs: build the illustrated guide (docs/, MkDocs Material, zh and en) into $(SITE)/; warnings fail the build
docs: $(VENV)/.dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir $(SITE)

## translations: compile the catalogs (wizard/translations/<lang>/LC_MESSAGES/messages.po -> .mo, not in git)
translations: $(VENV)/.runtime
	$(BIN)/pybabel --quiet compile --domain messages -d wizard/translations

## translations-update: extract every msgid again (babel.cfg) and merge it into the catalogs; then edit the .po
translations-update: $(VENV)/.runtime
	$(BIN)/pybabel --quiet extract -F babel.cfg --add-location=file --sort-by-file --no-wrap \
		--project=guance-aliyun-activation -o wizard/translations/messages.pot .
	$(BIN)/pybabel --quiet update -i wizard/translations/messages.pot -d wizard/translations --no-wrap --ignore-obsolete
	@echo "Now translate every empty or '#, fuzzy' entry in wizard/translations/*/LC_MESSAGES/messages.po."

clean:
	rm -rf $(VENV) instance .pytest_cache $(SITE)
