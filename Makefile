# `make run` and `make test` each set everything up first, so both work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ARGS ?=

.PHONY: run test install migrate chat clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

migrate: install
	$(BIN)/cocreate db upgrade

run: migrate
	$(BIN)/cocreate chat $(ARGS)

chat: run

test: install
	$(BIN)/python -m pytest $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
