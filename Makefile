# `make demo` and `make test` each create .venv on first use and install what they need.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python

.PHONY: demo test test-fast bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

# Test tools and the optional Ray extra (the Ray executor has tests of its own).
$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[dev,ray]"
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/cnnlab run mnist-fc-vs-cnn --dataset mnist-small --epochs 5 --seeds 2 --out runs/demo

# Two workers, whole files each (module fixtures are made once); tests/conftest.py gives each one thread.
test: $(VENV)/.installed-dev
	$(PY) -m pytest -q -n 2 --dist loadfile

# The logic tests only: no training for seconds, no processes, browser, notebook or Ray (about a minute).
test-fast: $(VENV)/.installed-dev
	$(PY) -m pytest -q -m "not slow and not process and not browser and not notebook and not ray"

bench: $(VENV)/.installed
	$(PY) benchmarks/train_throughput.py --data-dir ../shared/datasets

clean:
	rm -rf $(VENV) runs
