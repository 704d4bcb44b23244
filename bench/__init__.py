"""Benchmarks and the scale-data generator (see docs/benchmarks.md). Not part of the test suite."""
