"""What a source system is: its id, names, owning department, sector and data class."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from schema.record import Record

SECTORS = ("智慧政务", "智慧经济", "智慧城市", "智慧民生")
"""The four sectors ("baskets") of the 1+4+N model: government, economy, city, livelihood."""
CLASSIFICATIONS = ("public", "internal", "sensitive", "personal")

Mode = Literal["pull", "push", "live"]


@dataclass(frozen=True)
class SystemDescriptor:
    """A source system as the hub's catalog knows it."""

    id: str
    name_zh: str
    name_en: str
    department: str
    sector: str
    classification: str
    protocol: str  # sql / rest / filedrop / mqtt / webhook / graphql
    mode: Mode = "pull"

    def __post_init__(self) -> None:
        if self.sector not in SECTORS:
            raise ValueError(f"{self.id}: sector must be one of {SECTORS}, got {self.sector!r}")
        if self.classification not in CLASSIFICATIONS:
            raise ValueError(
                f"{self.id}: classification must be one of {CLASSIFICATIONS}, "
                f"got {self.classification!r}"
            )

    def as_record(self, fetched_at: datetime, kinds: tuple[str, ...]) -> Record:
        """The system describes itself as a ``SourceSystem`` record."""
        return Record.model_validate(
            dict(
                kind="SourceSystem",
                key=self.id,
                source_system=self.id,
                source_id=self.id,
                fetched_at=fetched_at,
                attrs={
                    "name_zh": self.name_zh,
                    "name_en": self.name_en,
                    "department": self.department,
                    "sector": self.sector,
                    "data_classification": self.classification,
                    "protocol": self.protocol,
                    "update_mode": self.mode,
                    "kinds": list(kinds),
                },
            )
        )
