"""Anchoring the audit chain outside the database: a signed checkpoint of its head, written to
the checkpoint file and exported (see ``hub.audit.checkpoint`` and ``hub.audit.export``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.audit.checkpoint import Checkpoint, write_checkpoint
from hub.audit.export import CheckpointExport
from hub.audit.log import AuditLog
from hub.audit.signer import AuditSigner

if TYPE_CHECKING:
    from pathlib import Path

    from hub.config import Settings


@dataclass
class AuditAnchor:
    log: AuditLog
    path: Path
    signer: AuditSigner
    export: CheckpointExport | None = None

    @classmethod
    def from_settings(cls, settings: Settings, log: AuditLog) -> AuditAnchor:
        signer = AuditSigner.load_or_create(settings.audit_key_path, settings.kek())
        path = settings.audit_checkpoint_path
        export = CheckpointExport(settings.audit_export, path) if settings.audit_export else None
        return cls(log, path, signer, export)

    def checkpoint(self) -> Checkpoint | None:
        """Checkpoint the head (if it moved), then send what the export has not sent yet."""
        point = write_checkpoint(self.log, self.path, self.signer)
        if self.export is not None:
            self.export.push()
        return point
