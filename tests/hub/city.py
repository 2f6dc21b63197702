"""A five-cell city for GraphQL tests that need no demo data."""

from __future__ import annotations

from datetime import UTC, datetime

from schema.record import Record

WHEN = datetime(2026, 6, 1, tzinfo=UTC)


def square(x: float, y: float) -> dict[str, object]:
    return {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]],
    }


def small_city() -> list[Record]:
    out: list[Record] = []
    for i in range(5):
        code = f"BH-T-{i:03d}"
        out.append(
            Record(
                kind="GridCell",
                key=code,
                source_system="grid-management",
                source_id=f"g{i}",
                fetched_at=WHEN,
                attrs={
                    "code": code,
                    "name": f"测试街道第{i + 1}网格",
                    "street": "测试街道",
                    "area_km2": 1.2,
                    "population": 900 + i,
                    "inspector": f"INS-{i:03d}",
                },
                geometry=square(117.7 + i * 0.01, 39.0),
                datum="GCJ-02",
            )
        )
        out.append(
            Record(
                kind="Inspector",
                key=f"INS-{i:03d}",
                source_system="grid-management",
                source_id=f"i{i}",
                fetched_at=WHEN,
                attrs={
                    "name": "欧阳明华",
                    "phone": "13812345678",
                    "resident_id": "120116199001011234",
                    "grid_cell": code,
                    "duty_categories": ["C01", "C02"],
                    "on_duty": i % 2 == 0,
                },
                geometry={"type": "Point", "coordinates": [117.705 + i * 0.01, 39.005]},
                datum="GCJ-02",
            )
        )
    return out
