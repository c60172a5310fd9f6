"""Benchmarks of `backprop` against the import floor and hand-written NumPy loops (`make bench`)."""
