"""What a field costs beyond the one point of resolving it: declared once, here, for the fields
whose resolver reads a whole table, computes statistics, searches or walks the graph.

A field costs 1 point per resolved value; the default budget of 50,000 points is a few seconds
of CPU (resolving one field through the policy and audit is 20-90 microseconds). A field below
costs its declared points instead, times the page sizes of the lists above it, as every field
does. The figures come from the resolvers on the Binhai demo city (scale 1), measured with
their answers (``tests/security/test_availability.py`` prints the worst), rounded up to a few
levels: whatever reads and counts a whole table costs at least a page of a thousand rows would,
so ten aliases of one statistic fill the default budget instead of taking minutes.
``tests/security/test_availability.py`` also checks that every name here is a field of the
schema, so a renamed field cannot silently fall back to 1.
"""

from __future__ import annotations

# Figures over whole tables (0.01-0.6 s each on the demo city; govServiceStats was 6.6 s
# before it stopped re-reading the catalogue per application).
STATISTICS = 5_000
# Unpaged lists of a whole table, with a row's fields resolved per row (0.5-3 s).
WHOLE_TABLE_LISTS = 25_000
# Pages whose filter reads the whole table before paging, searches, graph walks.
FILTERED_SCAN = 2_000
SEARCH = 1_000

# Type.field -> points per resolved value (instead of 1)
FIELD_COSTS: dict[str, int] = {
    # statistics
    "Query.govServiceStats": STATISTICS,
    "Query.serviceCaseStats": STATISTICS,
    "Query.hazchemStats": STATISTICS,
    "Query.hazchemStock": STATISTICS,
    "Query.muckStats": STATISTICS,
    "Query.cameraHealth": STATISTICS,
    "Query.waterQualityStats": STATISTICS,
    "Query.pumpGateStats": STATISTICS,
    "Query.floodWarnings": STATISTICS,
    "Query.smokeIndexStats": STATISTICS,
    "Query.enforcementStats": STATISTICS,
    "Query.enterpriseRequestStats": STATISTICS,
    "Query.economyAggregates": STATISTICS,
    "Query.economyTrend": STATISTICS,
    "Query.serviceCircle": 2 * STATISTICS,  # samples up to 20,000 points of a walk
    # whole tables, unpaged
    "Query.hazchemTanksInAlarm": WHOLE_TABLE_LISTS,
    "Query.hazchemWarehouseStocks": WHOLE_TABLE_LISTS,
    "Query.cameraCoverage": WHOLE_TABLE_LISTS,
    "Query.hazchemForbiddenZones": STATISTICS,
    # a filter over the whole table, then a page
    "Query.serviceApplications": FILTERED_SCAN,
    "Query.serviceItems": FILTERED_SCAN,
    "Query.serviceCases": FILTERED_SCAN,
    "Query.enforcementCases": FILTERED_SCAN,
    "Query.enterpriseRequests": FILTERED_SCAN,
    "Query.economyFirms": FILTERED_SCAN,
    "Query.smokeIndexes": FILTERED_SCAN,
    "Query.watchList": FILTERED_SCAN,
    "Query.hazchemViolations": FILTERED_SCAN,
    "Query.muckViolations": FILTERED_SCAN,
    "Query.videoEvents": FILTERED_SCAN,
    "Query.fingertipItems": FILTERED_SCAN,
    # search and graph walks
    "Query.search": SEARCH,
    "Query.microNewsSearch": SEARCH,
    "Query.entityPath": 5 * SEARCH,  # a breadth-first walk of up to maxHops
}
