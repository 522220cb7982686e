# Two commands on a fresh machine (Python 3.11 with venv and pip):
#   make demo   set up .venv and run the whole flow on the built-in default
#   make test   set up .venv and run the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --progress-bar off --disable-pip-version-check -c constraints.txt

.PHONY: setup demo test test-quick test-all bench clean

setup: $(VENV)/.installed

# torch first and pinned: 2.13.0 is the CPU build on local disk; left to the resolver,
# torch would come as a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e ".[dev]"
	touch $@

demo: setup
	$(BIN)/firebrick flow

# -n auto: pytest-xdist, one worker per core (2 here: 5 min 51 s against 10 min 02 s serially)
test: setup
	$(BIN)/pytest -m "not slow" -n auto --durations=15

# for development: everything but Yosys synthesis and place-and-route (CI runs `test`)
test-quick: setup
	$(BIN)/pytest -m "not slow" -n auto --ignore=tests/boards/test_synthesis.py --durations=15

test-all: setup
	$(BIN)/pytest -n auto

bench: setup
	$(BIN)/python benchmarks/train_default.py

clean:
	rm -rf $(VENV) firebrick-out .pytest_cache
