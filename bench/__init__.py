"""Benchmarks of the compiled core against shapely, scipy and numpy, measured in one run.

Run: ``.venv/bin/python -m bench`` (``--quick`` for a fast smoke run).
"""
