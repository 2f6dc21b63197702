"""Reusable transports: how the hub reaches a source system.

Each pulls pages of native rows for one stream (a table, a REST path, a file pattern, an MQTT
topic filter, a webhook subscription, a GraphQL connection) from a cursor, and says whether the
source is up. The connector's mapping turns the rows into records.
"""

from connectors.transports.base import Page, Transport

__all__ = ["Page", "Transport"]
