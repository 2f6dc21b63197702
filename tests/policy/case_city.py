"""Service cases on the two-street test city, with personal data planted where a policy must
hide it: in the descriptions (a phone, an ID number, a plate, a flat's address), the reporter's
name and phone, and the case addresses of the east street. For the search and Open311 policy
tests (a counts-only partner, a masked partner, a department of one street, operators)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schema.record import Record
from tests.policy.conftest import EAST, two_streets

WEST = "测试街道"
PHONE = "13955556666"
ID_NUMBER = "120101199003077776"  # GB 11643, its check digit right
PLATE = "津A12345"
FLAT = "幸福路12号3栋2单元501室"
REPORTER = "上官婉儿"
REPORTER_PHONE = "13700007777"
EAST_ADDRESS = "东区街道海滨大道777号"
EAST_POINT = (117.80777, 39.10777)
# only in the east street's cases: a department of the west street never sees them
EAST_ONLY = ("海滨大道777号", "117.80777", "39.10777")
PLANTED = (PHONE, ID_NUMBER, PLATE, "3栋2单元501室", REPORTER, REPORTER_PHONE)
CASES_PER_STREET = 6
RARE_CASES = 2  # cases mentioning 井盖: fewer than any counts-only policy's k


def _catalog(when: datetime) -> list[Record]:
    def rec(kind: str, key: str, attrs: dict[str, object]) -> Record:
        return Record(
            kind=kind,
            key=key,
            source_system="duty-catalog",
            source_id=key,
            fetched_at=when,
            attrs=attrs,
        )

    return [
        rec("DutyCategory", "C08", {"name": "市政设施", "department": "区城市管理委员会"}),
        rec(
            "DutySubCategory",
            "C08-02",
            {"name": "路灯", "category": "C08", "time_limit_hours": 72},
        ),
    ]


def case_key(street: str, i: int) -> str:
    return f"CASE-{'E' if street == EAST else 'W'}-{i:03d}"


def _case(street: str, i: int, when: datetime) -> Record:
    east = street == EAST
    told = f"{street}的路灯坏了，" + ("井盖也丢了，" if i < RARE_CASES else "")
    if east:
        told += f"我家在{FLAT}，电话{PHONE}，身份证{ID_NUMBER}，肇事车{PLATE}"
    lon, lat = EAST_POINT if east else (117.705 + i * 0.001, 39.005)
    return Record(
        kind="ServiceCase",
        key=case_key(street, i),
        source_system="cityhub",
        source_id=case_key(street, i),
        fetched_at=when,
        attrs={
            "title": f"{street}路灯不亮",
            "content": told,
            "channel": "随手拍",
            "category": "C08",
            "category_name": "市政设施",
            "subcategory": "C08-02",
            "subcategory_name": "路灯",
            "street": street,
            "grid_cell": "BH-E-000" if east else "BH-T-000",
            "address": EAST_ADDRESS if east else f"{street}测试路{i}号",
            "reporter": REPORTER,
            "reporter_phone": REPORTER_PHONE,
            "reported_at": (when - timedelta(hours=i)).isoformat(),
            "status": "filed",
        },
        geometry={"type": "Point", "coordinates": [lon, lat]},
        datum="GCJ-02",
    )


def case_city() -> list[Record]:
    """The two-street city, the duty catalog's 路灯 and six cases on each street (filed in the
    last day, so Open311's default window lists them)."""
    when = datetime.now(UTC).replace(microsecond=0)
    cases = [_case(s, i, when) for s in (WEST, EAST) for i in range(CASES_PER_STREET)]
    return [*two_streets(), *_catalog(when), *cases]


# A department application of the east street: every field of its own street's cases.
EAST_DEPARTMENT = f"""name = "east-cases"
subject = "client:east-cases"
clearance = "sensitive"
principals = {{ "client:east-cases" = {{ street = "{EAST}" }} }}
[types.ServiceCase]
fields = ["*"]
row_filter = "record.street == principal.street"
"""

# A partner given cases as counts only (k = 5, the default).
COUNTS_ONLY = """name = "case-counter"
subject = "client:case-counter"
[types."*"]
aggregate_only = true
"""

# A partner with masks: the address and the point redacted, the description refused.
MASKED_PARTNER = """name = "masked-cases"
subject = "client:masked-cases"
[types.ServiceCase]
fields = ["title", "status", "statusLabel", "subcategory", "subcategoryName", "address",
          "geometry", "department", "reportedAt", "channel", "categoryName"]
masks = { address = "redact", geometry = "redact" }
"""

# A principal with the personal clearance: free text served whole.
PERSONAL_CLEARANCE = """name = "case-auditor"
subject = "client:case-auditor"
clearance = "personal"
[types."*"]
fields = ["*"]
"""
