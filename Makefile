# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test bench install migrate demo otp check clean messages catalogues

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP) catalogues

## Compile locale/*/django.po to .mo in Python (no GNU gettext needed); built, never committed.
catalogues: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py compile_catalogues

## After merging new strings: re-extract, update every catalogue, and list what each
## language still lacks (then translate those entries in locale/<lang>/LC_MESSAGES/django.po).
messages: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py update_catalogues

migrate: $(STAMP) catalogues
	mkdir -p var/staticfiles
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py migrate --noinput

demo: migrate
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py seed_demo
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py seed_demo_otp

## Print the demo users' current two-step login codes.
otp: $(STAMP)
	@DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py demo_otp_code

## Set up and start Rapport on the embedded default (SQLite, filesystem broker, file emails).
run: demo
	@DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py demo_banner
	@DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py demo_otp_code
	DJANGO_SETTINGS_MODULE=config.settings.local exec $(VENV)/bin/honcho -f Procfile.dev start

## Run the whole test suite. Uses DATABASE_URL / REDIS_URL when set, else SQLite and files.
test: $(STAMP) catalogues
	mkdir -p var/staticfiles
	$(PY) -m pytest $(PYTEST_ARGS)

## Seed PostgreSQL at two sizes and measure pages, survey throughput and email dispatch
## (needs PostgreSQL and Redis; see README, "The benchmark"). BENCH_ARGS="--only pages".
bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

check: $(STAMP)
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var/*.sqlite3* var/celery var/outbox var/staticfiles
