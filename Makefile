# framemark: the two commands a fresh machine needs are `make demo` and `make test`.
# Both create the virtual environment on first use; nothing else is required.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test system-deps bench-deps clean-venv

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

# Benchmarks: slow, never part of `make test`. Each writes under bench-results/ and prints
# the figures the README quotes. `make bench` runs them all (about an hour on 2 cores).
BENCH := bench-provenance bench-watermark bench-generator bench-detector bench-service
.PHONY: bench $(BENCH)
bench: $(BENCH)

bench-provenance: $(STAMP)
	$(PY) -m bench.provenance --json bench-results/provenance.json

bench-watermark: $(STAMP) bench-deps
	$(PY) -m pytest -q -m slow -p no:cacheprovider tests/test_watermark_attacks.py tests/test_watermark_null.py
	$(PY) -m bench.robustness --out bench-results/robustness

bench-generator: $(STAMP)
	$(PY) -m generate.analyser --json bench-results/generator.json --sheet bench-results/contact-sheet.png --force
	$(PY) -m bench.latent_watermark --json bench-results/latent_watermark.json
	$(PY) -m bench.latent_inversion > bench-results/latent_inversion.md.part && mv bench-results/latent_inversion.md.part bench-results/latent_inversion.md
	$(PY) -m bench.generate_speed --json bench-results/generate_speed.json

bench-detector: $(STAMP) bench-deps
	$(PY) bench/classifier.py all

bench-service: $(STAMP) system-deps
	$(PY) -m bench.service_load -o bench-results/service_load.json
	$(PY) -m bench.fuzz -o bench-results/fuzz.json

clean-venv:
	rm -rf $(VENV)
