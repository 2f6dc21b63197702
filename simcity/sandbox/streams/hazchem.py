"""(being written)"""

from __future__ import annotations

from simcity.sandbox.streams import LiveCity, Stream


def streams(city: LiveCity) -> list[Stream]:
    return []
