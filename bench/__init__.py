"""Benchmarks that print figures and ratios: ``python -m bench`` lists them."""
