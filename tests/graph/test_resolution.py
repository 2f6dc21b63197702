"""Entity resolution across systems: codes, plates, hashed ID numbers, names."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.graph.names import brand_key, name_key, plate_key
from hub.graph.relations import relations
from hub.graph.resolution import FIRM_KINDS, VEHICLE_KINDS, resolve
from schema.record import Record

CODE = "91120116MA05BBJ537"  # valid (GB 32100)
WHEN = datetime(2026, 6, 1, tzinfo=UTC)


def rec(kind: str, key: str, system: str, **attrs: object) -> Record:
    return Record(
        kind=kind, key=key, source_system=system, source_id=key, fetched_at=WHEN, attrs=attrs
    )


def test_name_keys_fold_the_spellings() -> None:
    spellings = [
        "天津银昊融资租赁有限公司",
        "银昊融资租赁（天津）有限公司",
        "天津市银昊融资租赁有限公司",
        "  天津银昊融资租赁有限公司 ",
    ]
    assert {name_key(s) for s in spellings} == {"银昊融资租赁"}
    assert brand_key("银昊租赁") == brand_key("天津银昊融资租赁有限公司") == "银昊"
    assert plate_key("津G·53486") == plate_key("津g 53486") == "津G53486"


def test_one_firm_across_four_systems() -> None:
    records = [
        rec(
            "Enterprise",
            "ENT-1",
            "market-registry",
            name="天津银昊融资租赁有限公司",
            uscc=CODE,
            address="天津市滨海新区新港街道亚洲路310号",
        ),
        rec(
            "FinanceFirm",
            "FIN-1",
            "finance-registry",
            name="天津市银昊融资租赁有限公司",
            uscc=CODE,
            enterprise="ENT-1",
        ),
        rec(
            "HazchemFirm",
            "HCF-9",
            "hazchem-registry",
            name="银昊融资租赁（天津）有限公司",
            address="滨海新区新港街道亚洲路310号",
        ),
        rec("Enterprise", "CMP-FIRM-3", "complaints", name="银昊租赁"),
        rec(
            "Enterprise",
            "ENT-2",
            "market-registry",
            name="天津远天石油化工有限公司",
            uscc="91110000600037341L",
        ),
    ]
    result = resolve(records, secret="s")
    firm = f"Firm:{CODE}"
    members = [m for m in result.members if m.entity_id == firm]
    assert {m.source_system for m in members} == {
        "market-registry",
        "finance-registry",
        "hazchem-registry",
        "complaints",
    }
    methods = {m.key: m.method for m in members}
    assert methods == {
        "ENT-1": "uscc",
        "FIN-1": "uscc",
        "HCF-9": "name_address",
        "CMP-FIRM-3": "brand",
    }
    entity = next(e for e in result.entities if e.id == firm)
    assert entity.type == "Firm" and entity.confidence == 0.6
    assert result.entity_of[("Enterprise", "ENT-2")] == "Firm:91110000600037341L"


def test_ambiguous_names_are_not_merged() -> None:
    records = [
        rec("Enterprise", "E1", "market-registry", name="天津银昊融资租赁有限公司", uscc=CODE),
        rec(
            "Enterprise",
            "E2",
            "market-registry",
            name="天津银昊石化有限公司",
            uscc="91110000600037341L",
        ),
        rec("Enterprise", "X", "complaints", name="银昊公司"),  # brand 银昊 fits both
    ]
    result = resolve(records, secret="s")
    assert result.entity_of[("Enterprise", "X")] == "Firm:X"


def test_invalid_code_is_no_identity() -> None:
    records = [
        rec("Enterprise", "E1", "market-registry", name="甲", uscc="91120116MA05BBJ530"),
        rec("Enterprise", "E2", "finance-registry", name="乙", uscc="91120116MA05BBJ530"),
    ]
    result = resolve(records, secret="s")
    assert len(result.entities) == 2


def test_vehicles_and_people() -> None:
    records = [
        rec("HazchemVehicle", "V1", "vehicle-gps", plate="津G·53486"),
        rec("MuckTruck", "M1", "muck-gps", plate="津G53486"),
        rec("Citizen", "C1", "population", name="刘丹雪", resident_id="120116199412149288"),
        rec("Inspector", "I1", "grid-management", name="刘丹雪", resident_id="120116199412149288"),
    ]
    result = resolve(records, secret="s")
    assert result.entity_of[("HazchemVehicle", "V1")] == result.entity_of[("MuckTruck", "M1")]
    person = result.entity_of[("Citizen", "C1")]
    assert person == result.entity_of[("Inspector", "I1")]
    assert "120116199412149288" not in person  # hashed, not the number
    label = next(e.label for e in result.entities if e.id == person)
    assert label == "刘**"  # people's names are masked in labels


def test_relations_carry_their_source() -> None:
    records = [
        rec("GridCell", "G1", "grid-management", code="G1"),
        rec(
            "HazchemFirm", "F1", "hazchem-registry", name="甲", uscc=CODE, site="S1", grid_cell="G1"
        ),
        rec("HazchemSite", "S1", "hazchem-registry", firm="F1"),
        rec("HazchemVehicle", "V1", "vehicle-gps", plate="津G53486", owner_firm="F1"),
        rec("LawCase", "L1", "law-enforcement", party_uscc=CODE, plate="津G·53486"),
    ]
    result = resolve(records, secret="s")
    edges = relations(records, result.entity_of, FIRM_KINDS, VEHICLE_KINDS)
    got = {(r.src, r.rel, r.dst, r.source_system) for r in edges}
    firm = f"Firm:{CODE}"
    assert got == {
        (firm, "LOCATED_IN", "GridCell:G1", "hazchem-registry"),
        (firm, "OPERATES", "HazchemSite:S1", "hazchem-registry"),
        (firm, "OWNS_VEHICLE", "Vehicle:津G53486", "vehicle-gps"),
        ("LawCase:L1", "CONCERNS", firm, "law-enforcement"),
        ("LawCase:L1", "CONCERNS", "Vehicle:津G53486", "law-enforcement"),
    }


def test_facets_join_their_firm_and_mentions_by_name_link_to_it() -> None:
    records = [
        rec("Enterprise", "ENT-1", "market-registry", name="天津银昊融资租赁有限公司", uscc=CODE),
        rec("FinanceReport", "R1", "finance-reports", firm_name="天津银昊融资租赁有限公司",
            uscc=CODE),
        rec("EconomicIndicator", "E1", "economic-stats", subject_type="firm",
            subject_name="银昊融资租赁（天津）有限公司", uscc=CODE),
        rec("EconomicIndicator", "E2", "economic-stats", subject_type="park",
            subject_name="银昊园"),
        rec("Complaint", "C1", "complaints", respondent_name="银昊租赁"),
        rec("Complaint", "C2", "complaints", respondent_name="无名公司"),
    ]  # fmt: skip
    result = resolve(records, secret="s")
    firm = f"Firm:{CODE}"
    assert {m.key for m in result.members if m.entity_id == firm} == {"ENT-1", "R1", "E1"}
    assert result.firm_named("银昊租赁") == (firm, "brand")
    assert result.firm_named("无名公司") is None
    edges = relations(records, result.entity_of, FIRM_KINDS, VEHICLE_KINDS, result.firm_named)
    concerning = {(r.src, r.dst, r.confidence) for r in edges if r.rel == "CONCERNS"}
    assert concerning == {("Complaint:C1", firm, 0.6)}  # not the park's indicator
