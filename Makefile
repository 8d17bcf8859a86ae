# The two commands of README.md. Each works on a fresh machine by itself:
# it creates .venv when missing, installs what it needs once, then runs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench notebooks

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# A stamp per install, remade only when pyproject.toml changes.
$(VENV)/.installed-demo: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[demo]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[bench,demo]"
	touch $@

demo: $(VENV)/.installed-demo
	$(PY) examples/main.py

test: $(VENV)/.installed-test
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2 --dist loadfile

# Runs the notebooks and stores their outputs and figures in them (what GitHub shows).
notebooks: $(VENV)/.installed-test
	$(PY) -m tests.notebook_runner

bench: $(VENV)/.installed-bench
	$(PY) bench/ops_overhead.py
	$(PY) bench/scaling.py
	$(PY) bench/compare.py
	$(PY) bench/backends.py
	$(PY) bench/fit_overhead.py
