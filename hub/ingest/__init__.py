"""Ingestion: connector syncs into the store — idempotent, with lineage, quarantine and status."""

from hub.ingest.sync import RunReport, SyncEngine

__all__ = ["RunReport", "SyncEngine"]
