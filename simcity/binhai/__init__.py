"""Binhai New Area (Tianjin), the demo city: deterministic generator of its records.

Public entry points:

* :func:`simcity.binhai.geography.grid_cells` / :func:`~simcity.binhai.geography.district_outline`
* :func:`simcity.binhai.generate.generate` — writes one JSON-Lines file per record kind.
"""
