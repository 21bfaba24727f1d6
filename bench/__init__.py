"""Benchmarks: run by hand (see bench/README.md), never part of `make test`."""
