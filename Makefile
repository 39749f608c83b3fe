# Two commands do everything on a fresh machine with Python 3.11:
#   make book   create the environment, execute the notebooks with their default parameters, render the HTML
#   make test   create the environment, run the unit tests and execute the notebooks (nbval)
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

.PHONY: book test env clean

env: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

book: env
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

test: env
	$(BIN)/pytest

clean:
	rm -rf _build .pytest_cache
