"""The hub store: records with provenance, on SQLite (embedded default) or PostgreSQL."""

from hub.store.errors import StoreUnavailable
from hub.store.records import IngestReport, RecordStore

__all__ = ["IngestReport", "RecordStore", "StoreUnavailable"]
