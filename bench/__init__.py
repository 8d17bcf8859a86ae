"""Benchmarks: run `make bench`, or `python bench/compare.py` for the peer table."""
