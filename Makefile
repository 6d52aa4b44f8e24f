# The two commands: `make run` serves the product, `make test` runs every suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
MARKET_FLASK := $(BIN)/flask --app marketplace.wsgi
PORT ?= 5000
MARKET_PORT ?= 5001
MAIL_PORT ?= 8025
# The processes of the Procfile that `make run` starts: no local SMTP sink when MAIL_SERVER is set.
PROCESSES ?= web market worker market-worker $(if $(MAIL_SERVER),,mail)
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

## run: install, migrate, seed demo data; serve Guance on http://127.0.0.1:$${PORT:-5000}, the marketplace simulator on
##      http://127.0.0.1:$${MARKET_PORT:-5001} and a local SMTP sink, all under honcho (Procfile); Ctrl-C stops them all
run: export WEB_PORT := $(PORT)
run: export MARKET_PORT := $(MARKET_PORT)
run: export MAIL_PORT := $(MAIL_PORT)
run: export PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
run: export SPI_URL ?= http://127.0.0.1:$(PORT)/spi
run: export MARKETPLACE_URL ?= http://127.0.0.1:$(MARKET_PORT)/
run: export MARKETPLACE_CONSOLE_URL ?= http://127.0.0.1:$(MARKET_PORT)/instances
# Metrics in multiprocess mode (gunicorn's workers and the queue's worker each write files here; /metrics
# adds them up): emptied at each start, since the counts of an earlier run are not this one's.
run: export PROMETHEUS_MULTIPROC_DIR ?= $(CURDIR)/instance/prometheus
run: $(VENV)/.runtime translations
	$(FLASK) db upgrade
	$(MARKET_FLASK) db upgrade
	$(MARKET_FLASK) demo seed
	$(FLASK) demo seed
	rm -rf "$$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$$PROMETHEUS_MULTIPROC_DIR"
	@echo "Guance:                      $$PUBLIC_BASE_URL/"
	@echo "Operators' console:          $$PUBLIC_BASE_URL/ops/ (the demo operator: see above)"
	@echo "Metrics, health:             $$PUBLIC_BASE_URL/metrics, /healthz, /readyz"
	@echo "Marketplace simulator:       $$MARKETPLACE_URL"
	@$(if $(MAIL_SERVER),echo "Mail goes to $(MAIL_SERVER) (no local sink).",echo "Development mailbox:         $$PUBLIC_BASE_URL/dev/mail/")
	$(BIN)/honcho --no-colour start -f Procfile $(PROCESSES)

## test: install test tools and system packages (Chromium, CJK font, PostgreSQL), run every suite
test: $(VENV)/.dev translations
	./scripts/system-deps.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff (lint and format check) over the whole tree, then mypy over the product code (wizard, marketplace, protocol)
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

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

## translations: compile the catalogs of both applications (<package>/translations/<lang>/LC_MESSAGES/messages.po -> .mo)
translations: $(VENV)/.runtime
	$(BIN)/pybabel --quiet compile --domain messages -d wizard/translations
	$(BIN)/pybabel --quiet compile --domain messages -d marketplace/translations

## translations-update: extract every msgid again (babel.cfg, marketplace/babel.cfg) and merge it into the catalogs
translations-update: $(VENV)/.runtime
	$(BIN)/pybabel --quiet extract -F babel.cfg --add-location=file --sort-by-file --no-wrap \
		--project=guance-aliyun-activation -o wizard/translations/messages.pot .
	$(BIN)/pybabel --quiet update -i wizard/translations/messages.pot -d wizard/translations --no-wrap --ignore-obsolete
	$(BIN)/pybabel --quiet extract -F marketplace/babel.cfg --add-location=file --sort-by-file --no-wrap \
		--project=aliyun-marketplace-simulator -o marketplace/translations/messages.pot .
	$(BIN)/pybabel --quiet update -i marketplace/translations/messages.pot -d marketplace/translations --no-wrap --ignore-obsolete
	@echo "Now translate every empty or '#, fuzzy' entry in {wizard,marketplace}/translations/*/LC_MESSAGES/messages.po."

clean:
	rm -rf $(VENV) instance .pytest_cache $(SITE)
