"""Telemetry clients bound to their devices: a ``telemetry:write`` client writes readings only
for the devices it owns (issue 13 item 10: one client raised 5,000 critical alarms for tanks
it had nothing to do with).

A client's ``devices`` (``oauth_clients.devices``) is a list of entries, each a glob over the
reading's device id (``id``), optionally for one reading kind only:

* ``TNK-0007-*`` — every device whose id matches, of any kind;
* ``tank.level:TNK-0007-*`` — those ids in ``tank.level`` readings only;
* ``vehicle.fix:*`` — every vehicle fix (a whole source system's gateway);
* ``*`` — every device (a central gateway; stated explicitly, never implied).

Readings carry no source-system name, so a kind stands for the system that sends it. A
reading outside the list is refused by index ("not a device of this client"), the rest of its
batch still counts; a client bound to no devices is refused outright (403).
"""

from __future__ import annotations

import re
from fnmatch import translate

ENTRY = re.compile(r"^(?:[a-z][a-z0-9_.-]{0,62}:)?[A-Za-z0-9*?\[\]._:/-]{1,128}$")
_CACHE_LIMIT = 100_000


def check_entries(entries: list[str]) -> list[str]:
    """The entries, stripped; ValueError naming the first that is not ``[KIND:]ID-GLOB``."""
    out = []
    for raw in entries:
        entry = raw.strip()
        if not ENTRY.match(entry):
            raise ValueError(
                f"device {raw[:80]!r}: an id glob, optionally after a reading kind "
                "(TNK-0007-*, tank.level:TNK-0007-*, vehicle.fix:*)"
            )
        out.append(entry)
    return out


class DeviceBinding:
    """Which (kind, device id) pairs a client may write, from its ``devices`` entries."""

    def __init__(self, entries: tuple[str, ...] | list[str]) -> None:
        self.entries = tuple(entries)
        parts = []
        for entry in self.entries:
            kind, sep, ident = entry.partition(":")
            if sep and re.fullmatch(r"[a-z][a-z0-9_.-]*", kind):
                parts.append(re.escape(kind) + "\x00" + translate(ident).removesuffix(r"\Z"))
            else:  # no kind (an id glob may itself hold ':')
                parts.append("[^\x00]*\x00" + translate(entry).removesuffix(r"\Z"))
        self._pattern = re.compile("(?s:" + "|".join(parts) + r")\Z") if parts else None
        # a gateway sends the same few thousand devices again and again
        self._seen: dict[str, bool] = {}

    def allows(self, kind: str, device_id: str) -> bool:
        key = f"{kind}\x00{device_id}"
        found = self._seen.get(key)
        if found is None:
            found = self._pattern is not None and self._pattern.match(key) is not None
            if len(self._seen) >= _CACHE_LIMIT:
                self._seen.clear()
            self._seen[key] = found
        return found
