# The two set-up commands: `make run` (demo site on http://127.0.0.1:8000) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
MANAGE := $(BIN)/python manage.py

.PHONY: install install-dev run demo services test typecheck lint format bench messages screenshots clean

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# Tests, linters and benchmark tools on top of the runtime set.
$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed
install-dev: $(BIN)/.installed-dev

# The site is secure by default (DEBUG off, HTTPS only); the local demo and the message catalogs
# use the development mode, on plain HTTP with the development key.
demo run messages: export DJANGO_DEBUG := 1

## Migrate, load demo data, train, then serve the site.
demo: install
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo --media-base-url http://$(HOST):$(PORT)
	$(MANAGE) retrain --no-progress

run: demo
	@echo ""
	@echo "  Site:  http://$(HOST):$(PORT)/"
	@echo "  Login: user 'demo', password 'watch-and-learn'  ->  http://$(HOST):$(PORT)/recommended/"
	@echo "  Admin: create one with '$(MANAGE) createsuperuser', then http://$(HOST):$(PORT)/admin/"
	@echo ""
	$(MANAGE) runserver $(HOST):$(PORT)

## web + Celery worker + beat against REDIS_URL (default local Redis) and DATABASE_URL, no Docker.
services: install
	scripts/services.sh

## The whole test suite (uses DATABASE_URL / REDIS_URL when set, SQLite and eager Celery otherwise).
test: install-dev
	$(BIN)/python -m pytest

## mypy over the apps (settings: [tool.mypy] in pyproject.toml).
typecheck: install-dev
	$(BIN)/mypy

## ruff, then the type check.
lint: install-dev typecheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## MovieLens 100K benchmark (data read from ../shared, never copied into the repository).
bench: install-dev
	$(BIN)/python bench/retrain.py --dataset ../shared/datasets/ml-100k --json

## Refresh locale/*/LC_MESSAGES/django.po from the code and templates, then compile the .mo files
## (committed). Needs GNU gettext (Debian: apt-get install gettext).
messages: install
	$(MANAGE) makemessages -l en -l zh_Hans --no-obsolete --ignore=.venv --ignore=var --ignore=staticfiles \
		--ignore=tests --ignore=bench --ignore=test-output --ignore=scripts
	$(MANAGE) compilemessages --ignore=.venv

## Refresh the README's pictures (docs/img/) from the browser tests' screenshots (needs Debian's
## chromium and chromium-driver). The tests write only test-output/; this target copies three of them.
screenshots: install-dev
	$(BIN)/python -m pytest -q tests/e2e/test_browser.py \
		tests/e2e/test_admin_browser.py::test_dashboard_and_version_pages_draw_their_charts
	mkdir -p docs/img
	cp test-output/screenshots/05-recommended.png docs/img/feed.png
	cp test-output/screenshots/admin-01-dashboard.png docs/img/dashboard.png
	cp test-output/screenshots/admin-02-version.png docs/img/model-version.png

clean:
	rm -rf var/ staticfiles/ test-output/ .pytest_cache
