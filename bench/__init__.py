"""Benchmarks and calibrations of the suite, run as ``python -m bench.<name>``."""
