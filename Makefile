# tthc-bot — every entry point a maintainer needs. `make run` and `make test`
# do all set-up themselves on a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
TTHC := $(VENV)/bin/tthc
STAMP := $(VENV)/.installed

# Python 3.10 is required by Rasa 3.6. Prefer pyenv's 3.10 (it is installed but
# not the global version on our machines), else a plain python3.10 on PATH.
PYTHON310 ?= $(shell \
	if command -v pyenv >/dev/null 2>&1 && p=$$(pyenv prefix 3.10 2>/dev/null) && [ -x "$$p/bin/python" ]; then \
		echo "$$p/bin/python"; \
	elif command -v python3.10 >/dev/null 2>&1; then \
		command -v python3.10; \
	fi)

.PHONY: help venv lint format test test-fast catalog migrate train evaluate stats run shell lock bench clean

help:
	@echo "make run    - set up, import the catalog, train if needed, start the assistant"
	@echo "make test   - set up and run every test (catalog, NLU evaluation, dialogue, channels)"
	@echo "make lint   - ruff and mypy"
	@echo "make train  - (re)train the Rasa model into models/"
	@echo "make shell  - chat with the assistant in the terminal"
	@echo "make bench  - run the benchmarks under benchmarks/"

$(STAMP): requirements.lock pyproject.toml
	@if [ -z "$(PYTHON310)" ]; then \
		echo "error: Python 3.10 not found. Install it (e.g. 'pyenv install 3.10.13') or put python3.10 on PATH." >&2; \
		exit 1; \
	fi
	@echo "Creating $(VENV) with $(PYTHON310)"
	@[ -x $(PY) ] || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==24.0"
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .

migrate: $(STAMP)
	$(TTHC) db upgrade

# Import (idempotent: skipped when neither the data nor the overlay changed).
catalog: $(STAMP)
	$(TTHC) catalog import --if-changed

# Train (skipped when a model from identical inputs is already in models/).
train: catalog
	$(TTHC) train --if-stale

# Held-out NLU evaluation of the shipped model against a baseline; exits
# non-zero below target.
evaluate: train
	$(TTHC) evaluate --model models/
	$(TTHC) evaluate --dialogue --model models/

# Analytics in the terminal (the console's dashboard numbers).
stats: $(STAMP)
	$(TTHC) stats

# Everything CI checks: lint, catalog, model, all pytest suites (catalog and
# dossiers on SQLite and PostgreSQL, actions, channels, conversation stories,
# end-to-end over real servers, the scale-out path on PostgreSQL and Redis),
# then the NLU evaluation of the trained model with its targets.
SERVER_SUITES := tests/e2e tests/trainer_loop tests/conversations tests/handoff tests/onestopshop
# Two Rasa workers each: CPU-bound start-up with timed waits, so they run alone afterwards.
SCALE_OUT_TESTS := tests/e2e/test_scale_out.py tests/handoff/test_pause_scale_out.py

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(TTHC) catalog import --if-changed --quiet
	$(TTHC) train --if-stale
	# pytest in two processes: much of the suite waits on servers, trainings and a browser
	# started in subprocesses, so the end-to-end/training suites run beside the rest (each
	# with its own temp folder; every test already picks free ports and its own database).
	@rm -rf var/pytest-a var/pytest-b var/pytest-c; mkdir -p var
	@$(PY) -m pytest -q -p no:cacheprovider --durations=15 --basetemp=$(CURDIR)/var/pytest-a \
		$(SERVER_SUITES) $(addprefix --ignore=,$(SCALE_OUT_TESTS)) \
		> var/pytest-servers.log 2>&1 & servers=$$!; \
	$(PY) -m pytest -q -p no:cacheprovider --durations=15 --basetemp=$(CURDIR)/var/pytest-b \
		$(addprefix --ignore=,$(SERVER_SUITES) $(SCALE_OUT_TESTS)); rest=$$?; \
	wait $$servers; servers=$$?; \
	echo "--- end-to-end and training suites ($(SERVER_SUITES)) ---"; cat var/pytest-servers.log; \
	echo "pytest exit codes: rest $$rest, end-to-end/training $$servers"; \
	test $$rest -eq 0 -a $$servers -eq 0
	$(PY) -m pytest -q -p no:cacheprovider --basetemp=$(CURDIR)/var/pytest-c $(SCALE_OUT_TESTS)
	# The shipped model on the held-out set; every NLU target of issue #3 fails the run.
	$(TTHC) evaluate --model models/
	# First replies through the real dialogue (issue #9): bare names and real messages sent
	# through the action and Rasa servers; fails below target. Report: reports/nlu/dialogue.md
	$(TTHC) evaluate --dialogue --model models/

# The quick loop while editing: no model, no servers.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

run: train
	$(TTHC) run

shell: train
	$(TTHC) shell

# Speed and memory benchmarks (results go in docs/benchmarks.md by hand).
bench: train
	$(PY) benchmarks/catalog_search.py
	$(PY) benchmarks/nlu_parse.py latency
	$(PY) benchmarks/conversation_load.py --citizens 10
	$(PY) benchmarks/console_load.py --console-workers 2

lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable | sed '/^tthc-bot/d' > requirements.lock.new
	@echo "Review requirements.lock.new and move it over requirements.lock"

clean:
	rm -rf $(VENV) var models reports
