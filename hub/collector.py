"""How the hub's process keeps Python's cyclic garbage collector out of the way of ingest.

A telemetry batch builds a few container objects per reading (the parsed JSON, the reading,
what its rules said of it), and every 700 of them CPython runs a collection; a batch's objects
live as long as the batch, so they are promoted and the full collections that follow walk
every object the hub holds — the city's records, the apps' read models. Measured on a batch
path of 6,000 tanks' levels (bench/telemetry_ingest.py): ~57,000 readings/s evaluated with
the defaults, ~110,000 with what was loaded frozen, ~160,000 with collections every 50,000
allocations as well (~200,000 with no collector at all). Memory is freed by reference
counting as before; the collector only finds cycles, of which a request leaves few.
"""

from __future__ import annotations

import gc

# young objects allocated between collections (CPython's default: 700)
YOUNG_THRESHOLD = 50_000


def settle() -> None:
    """What is loaded now (the hub's composition, a read model just built) lives as long as
    the process: leave it out of every collection, and collect less often. Idempotent."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
