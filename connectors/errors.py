"""Errors a connector raises. Each message is one line an operator can act on."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every connector failure."""


class SourceUnavailable(ConnectorError):
    """The source system cannot be reached or answers with a server error: it is down."""


class SourceProtocolError(ConnectorError):
    """The source answered, but not in the shape the transport expects."""


class MappingError(ConnectorError):
    """One source row cannot become a record; the message is the quarantine reason."""


class CircuitOpen(SourceUnavailable):
    """A live pass-through refused the call: the source failed too often just now."""
