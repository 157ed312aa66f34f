# framemark: the two commands a fresh machine needs are `make demo` and `make test`.
# Both create the virtual environment on first use; nothing else is required.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench system-deps bench-deps clean-venv

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	# torch first and exact: an open range would pull a multi-GB CUDA build
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

# Debian packages: chromium for the web page test, opencv-doc for real camera footage.
system-deps:
	@bash scripts/system-deps.sh test

bench-deps:
	@bash scripts/system-deps.sh bench

demo: $(STAMP)
	$(VENV)/bin/framemark demo

test: $(STAMP) system-deps
	$(PY) -m pytest -q

bench: $(STAMP) bench-deps
	$(PY) -m pytest -q -m slow -p no:cacheprovider
	$(VENV)/bin/framemark bench all -o bench-results

clean-venv:
	rm -rf $(VENV)
