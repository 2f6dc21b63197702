"""What an object served in GraphQL names in the audit entry of the request.

The audit extension (``hub.audit.extension``) notes every object a request resolves fields
of, with no code per type, by the first of these that applies:

1. ``audit_ref()`` (the :class:`Audited` protocol): ``(record kind, key)``, or None to be left
   out — for a type whose key is not the record's, or whose only identifier is a secret;
2. a relay Node: its GraphQL type and ``id``;
3. an object carrying a record's ``kind`` and ``key`` (a search hit, an ``entity360`` fact);
4. its GraphQL type and its ``key`` or else ``id`` (a service or enforcement case, an economy
   firm; for an aggregate, the key of the group it describes: the groups served) — but for an
   object carrying a ``tracking_number`` (a progress lookup, a receipt), the record key the
   number names (its public part: the number is a capability and is never logged).

A type's ``key`` and ``id`` are identifiers, never personal values: a type for which that does
not hold defines ``audit_ref`` (returning None if it must not be named at all).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Audited(Protocol):
    def audit_ref(self) -> tuple[str, str] | None:
        """(record kind, key) of the row this object shows; None: not named in the log."""
        ...
