# Two commands do everything on a fresh machine with Python 3.11:
#   make book   create the environment, execute the notebooks with the book's sizes (params/cpu.yml; several at a
#               time, into runs/book-cpu; unchanged notebooks restored from an earlier build), render the HTML there
#   make test   create the environment and Debian's chromium, run the unit tests, execute the notebooks (nbval) and
#               open every page of the built book in headless Chromium
#   make unit   the fast tier for the edit-test loop: the unit tests alone (pytest -m "not slow" tests)
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

.PHONY: book test unit mutants pair env browser bench clean

env: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

book: env
	$(BIN)/python -m reproduce book --params params/cpu.yml --out runs/book-cpu

# Each notebook's text form, notebooks/text/<name>.py (jupytext py:percent), brought up to date from whichever of the
# two was edited last; tests/test_notebook_text.py fails while they differ.
pair: env
	$(BIN)/jupytext --sync notebooks/*.ipynb

# Debian's chromium for the book's browser test (tests/browser.py), installed as root when it is missing; Playwright
# drives it and downloads no browser of its own.
browser:
	test -x /usr/bin/chromium || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

# The tests run in parallel, one worker per core, each file on one worker (nbval runs a notebook's cells in order, in
# one kernel), each worker and notebook kernel with one thread: on 2 cores two single-threaded processes do nearly
# twice the work of one process with two threads, and two processes with two threads each slow each other down badly.
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

test: env browser
	OMP_NUM_THREADS=1 $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# The fast tier for the edit-test loop: every unit test, no notebook, no book build, no browser, no torchrun.
unit: env
	OMP_NUM_THREADS=1 $(BIN)/pytest tests -m "not slow" -n $(TEST_WORKERS) --dist loadfile

# A maintainer's check, not part of `make test` or CI: one-line mutants of the paper's recipe (tests/mutants.py), each
# applied to a copy of the working tree and run against the unit tier; prints which were killed, the kill rate and
# the survivors.
mutants: env
	$(BIN)/python tests/mutants.py --workers $(TEST_WORKERS)

# The throughput benchmark (about 8 minutes on 2 cores); the book's Performance appendix shows what it writes.
bench: env
	$(BIN)/python benchmarks/throughput.py --out benchmarks/results/performance.json

clean:
	rm -rf _build .pytest_cache runs/book-cpu
