"""How the hub's process keeps Python's cyclic garbage collector out of the way of ingest.

A telemetry batch builds a few container objects per reading (the parsed JSON, the reading,
what its rules said of it), and CPython runs a collection after every 700 such allocations:
thousands of collections per second, each walking the batch's live objects, and the older
generations in turn the whole heap (the city's records, the apps' read models). Measured on
the batch path of 6,000 tanks' levels (bench/telemetry_ingest.py, LiveBus.evaluate):
~62,000 readings/s with the defaults, ~170,000 with young collections every 50,000
allocations (~180,000 with the heap frozen as well: not done, a frozen object's cycles are
never collected). Memory is still freed by reference counting as it was; the collector only
finds cycles, and finds them as before, a little later.
"""

from __future__ import annotations

import gc

# container allocations between young collections (CPython's default: 700)
YOUNG_THRESHOLD = 50_000


def settle() -> None:
    """Collect less often (the serving process's lifespan calls this). Idempotent."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
