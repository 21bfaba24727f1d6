# `make run` and `make test` each set everything up first, so both work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ARGS ?=

.PHONY: run test install migrate chat serve catalogs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

migrate: install
	$(BIN)/cocreate db upgrade

# Serves the web chat (and Slack and Teams when configured in the environment or .env);
# without Slack or Teams it prints a one-time web sign-in link for the sample leader.
run: migrate
	$(BIN)/cocreate run $(ARGS)

chat: migrate
	$(BIN)/cocreate chat $(ARGS)

serve: migrate
	$(BIN)/cocreate serve $(ARGS)

# After changing an English text: refresh bot/locale/cocreate.pot and mark changed
# translations for review in every catalog (then translate them in Poedit or Weblate).
catalogs: install
	$(BIN)/cocreate prompts --update-catalogs

# Two workers (pytest-xdist): most tests wait on a server, a browser or a database, not the CPU.
JOBS ?= 2
test: install
	$(BIN)/python -m pytest -n $(JOBS) $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
