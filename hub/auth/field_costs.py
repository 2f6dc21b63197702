"""What a field costs beyond the one point of resolving it: declared once, here, for the fields
whose resolver reads a whole table, computes statistics, searches or walks the graph.

A field costs 1 point per resolved value; the cost budget (50,000 by default) is about a second
of CPU spread over a request. A field below costs its declared points instead, times the page
sizes of the lists above it, as every field does. The figures come from the resolvers' CPU time
on the Binhai demo city (scale 1) after their own fixes, at about 20 microseconds a point (what
resolving one ordinary field through the policy costs), rounded up: a field that reads and
counts a whole table costs thousands, a page of a table hundreds.
``tests/security/test_availability.py`` checks that every name here is a field of the schema.
"""

from __future__ import annotations

# Type.field -> points per resolved value (instead of 1)
FIELD_COSTS: dict[str, int] = {}
