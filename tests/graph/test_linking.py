"""FirmLinker: the one firm matching the apps share with the knowledge graph."""

from __future__ import annotations

from hub.graph.linking import FirmLinker
from hub.graph.resolution import resolve
from tests.graph.test_resolution import CODE, rec

OTHER = "91110000600037341L"
FIRMS = [
    rec("Enterprise", "ENT-1", "market-registry", name="天津银昊融资租赁有限公司", uscc=CODE),
    rec(
        "FinanceFirm",
        "FIN-1",
        "finance-registry",
        name="银昊融资租赁（天津）有限公司",
        enterprise="ENT-1",
    ),
    rec("Enterprise", "ENT-2", "market-registry", name="天津远天石油化工有限公司", uscc=OTHER),
    # one name, two firms: a name that cannot say which
    rec("Enterprise", "ENT-3", "market-registry", name="天津海河物流有限公司", uscc="X-1"),
    rec("Enterprise", "ENT-4", "market-registry", name="海河物流（天津）有限公司", uscc="X-2"),
    # not a firm: ignored
    rec("ServiceCase", "CASE-1", "hotline", respondent_name="天津远天石油化工有限公司"),
]


def test_by_key_code_name_and_trade_name() -> None:
    linker = FirmLinker(FIRMS)
    firm = f"Firm:{CODE}"
    by_key = linker.link(kind="FinanceFirm", key="FIN-1")
    assert by_key is not None and (by_key.entity_id, by_key.key, by_key.how) == (
        firm,
        "FIN-1",
        "key",
    )
    by_code = linker.link(kind="Enterprise", uscc=CODE.lower())
    assert by_code is not None and (by_code.key, by_code.how) == ("ENT-1", "uscc")
    # the finance office's record of the same firm, reached by the registry's code
    assert linker.link(kind="FinanceFirm", uscc=CODE).key == "FIN-1"  # type: ignore[union-attr]
    by_name = linker.link(kind="Enterprise", name="天津市远天石油化工有限公司")
    assert by_name is not None and (by_name.key, by_name.how, by_name.confidence) == (
        "ENT-2",
        "name",
        0.8,
    )
    by_brand = linker.link(kind="Enterprise", name="银昊租赁")
    assert by_brand is not None and (by_brand.key, by_brand.how) == ("ENT-1", "brand")
    assert linker.link(kind="Enterprise", name="银昊租赁", by_brand=False) is None
    # a code that fails its checksum still names the firm that files under it
    assert linker.link(kind="Enterprise", uscc="x-2").key == "ENT-4"  # type: ignore[union-attr]


def test_two_records_of_one_firm_do_not_make_its_name_ambiguous() -> None:
    linker = FirmLinker(FIRMS)
    # ENT-1 and FIN-1 share a name key and are one firm: the name still links
    assert linker.link(kind="FinanceFirm", name="天津银昊融资租赁有限公司").key == "FIN-1"  # type: ignore[union-attr]
    # ENT-3 and ENT-4 are two firms of one name: no link rather than a wrong one
    assert linker.link(kind="Enterprise", name="天津海河物流有限公司") is None
    assert linker.link(kind="Enterprise", name="") is None
    assert linker.link(kind="Enterprise") is None


def test_the_entities_are_the_knowledge_graphs() -> None:
    linker = FirmLinker(FIRMS)
    graph = resolve(FIRMS, secret="s")
    for ref, entity_id in graph.entity_of.items():
        if ref[0] != "ServiceCase":
            assert linker.entity_of(*ref) == entity_id
    assert linker.entity_of("ServiceCase", "CASE-1") is None
