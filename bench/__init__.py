"""Benchmarks (slow; never part of `make test`). Run each as ``python -m bench.<name>``."""
