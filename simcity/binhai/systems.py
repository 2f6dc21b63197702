"""The catalog of Binhai's 28 integrated source systems (整合优化的28个信息化业务系统).

The source document says 28 existing departmental systems were integrated, and names what
they feed: the citizen-service channels (hotline, grid, snap-and-send, district-head mailbox,
"government-citizen zero distance"), law-enforcement supervision, government services, the
economy map, smart finance, the enterprise-service platform, hazardous chemicals (firms,
warehouses, tanks, vehicles), water (quality, water regime, pumps and gates), muck trucks,
"Sharp Eyes" video and the media center. The list below spells those out as 28 systems, each
with a stable id that every record's ``source_system`` uses.

``data_classification`` is the highest class of data the system holds, in the hub's terms:
public < internal < sensitive < personal.
"""

from __future__ import annotations

from dataclasses import dataclass

SECTORS = ("智慧政务", "智慧经济", "智慧城市", "智慧民生")
CLASSIFICATIONS = ("public", "internal", "sensitive", "personal")


@dataclass(frozen=True)
class SourceSystem:
    id: str
    name_zh: str
    name_en: str
    department: str
    sector: str
    data_classification: str
    protocol: str  # how the real system is reached: rest / soap / mqtt / database / file
    update_mode: str  # pull / push / live
    kinds: tuple[str, ...]  # record kinds this system is the source of


SYSTEMS: tuple[SourceSystem, ...] = (
    # 智慧政务 — smart government
    SourceSystem("service-hotline", "便民服务热线", "Citizen service hotline",
                 "区便民服务中心", "智慧政务", "personal", "rest", "push", ()),
    SourceSystem("grid-management", "网格化管理系统", "Grid management system",
                 "区网格化管理中心", "智慧政务", "personal", "rest", "pull",
                 ("GridCell", "Inspector", "DutyCategory", "DutySubCategory")),
    SourceSystem("snap-and-send", "随手拍", "Snap-and-send photo reports",
                 "区便民服务中心", "智慧政务", "personal", "rest", "push", ()),
    SourceSystem("district-mailbox", "区长信箱", "District head's mailbox",
                 "区人民政府办公室", "智慧政务", "personal", "soap", "pull", ()),
    SourceSystem("zero-distance", "政民零距离", "Government-citizen zero distance",
                 "区委网信办", "智慧政务", "personal", "rest", "pull", ()),
    SourceSystem("law-enforcement", "执法监督系统", "Law-enforcement supervision",
                 "区司法局", "智慧政务", "sensitive", "database", "pull", ()),
    SourceSystem("service-items", "政务服务事项库", "Government service item catalog",
                 "区行政审批局", "智慧政务", "public", "rest", "pull", ("ServiceItem",)),
    SourceSystem("online-applications", "指尖办网上申办", "Online applications (fingertip service)",
                 "区行政审批局", "智慧政务", "personal", "rest", "push", ("ServiceApplication",)),
    # 智慧经济 — smart economy
    SourceSystem("market-registry", "市场主体登记系统", "Market-entity registry",
                 "区市场监督管理局", "智慧经济", "internal", "database", "pull", ("Enterprise",)),
    SourceSystem("finance-registry", "泛金融企业名录库", "Quasi-financial firm registry",
                 "区金融工作局", "智慧经济", "internal", "rest", "pull", ("FinanceFirm",)),
    SourceSystem("finance-reports", "泛金融企业经营数据报送", "Quasi-financial operating reports",
                 "区金融工作局", "智慧经济", "sensitive", "file", "pull", ()),
    SourceSystem("complaints", "投诉举报平台", "Complaints and reports platform",
                 "区市场监督管理局", "智慧经济", "personal", "rest", "pull", ()),
    SourceSystem("public-opinion", "网络舆情监测", "Online public-opinion monitoring",
                 "区委网信办", "智慧经济", "internal", "rest", "pull", ()),
    SourceSystem("economic-stats", "经济运行监测", "Economic statistics",
                 "区统计局", "智慧经济", "internal", "database", "pull", ()),
    SourceSystem("enterprise-service", "双万双服企业服务平台", "Enterprise service platform",
                 "区工业和信息化局", "智慧经济", "internal", "rest", "pull", ()),
    # 智慧城市 — smart city
    SourceSystem("base-map", "基础地理信息平台", "Base map and spatial framework",
                 "区规划和自然资源局", "智慧城市", "public", "file", "pull",
                 ("District", "Street", "IndustrialPark")),
    SourceSystem("hazchem-registry", "危化品企业信息系统", "Hazardous-chemicals firm registry",
                 "区应急管理局", "智慧城市", "sensitive", "rest", "pull",
                 ("HazchemFirm", "HazchemSite", "Tank")),
    SourceSystem("warehouse-iot", "危化品仓储物联网", "Hazchem warehouse IoT",
                 "区应急管理局", "智慧城市", "personal", "mqtt", "push", ("StockMovement",)),
    SourceSystem("tank-sensors", "储罐在线监测系统", "Tank online monitoring",
                 "区应急管理局", "智慧城市", "sensitive", "mqtt", "push", ("Sensor",)),
    SourceSystem("vehicle-gps", "危化品车辆动态监控", "Hazchem vehicle tracking",
                 "区交通运输局", "智慧城市", "personal", "mqtt", "push", ("HazchemVehicle",)),
    SourceSystem("water-quality", "水质自动监测系统", "Water-quality monitoring",
                 "区生态环境局", "智慧城市", "public", "rest", "pull", ("WaterStation",)),
    SourceSystem("hydrology", "水文水情系统", "Hydrology and water regime",
                 "区水务局", "智慧城市", "internal", "soap", "pull", ("River", "PondingPoint")),
    SourceSystem("pump-gate-scada", "泵站闸门监控系统", "Pump-station and gate SCADA",
                 "区水务局", "智慧城市", "sensitive", "mqtt", "live", ("PumpStation", "Gate")),
    SourceSystem("muck-gps", "渣土车辆监管系统", "Muck-truck supervision",
                 "区城市管理委员会", "智慧城市", "personal", "mqtt", "push",
                 ("MuckTruck", "DumpingSite")),
    SourceSystem("construction-sites", "建设工地管理系统", "Construction-site management",
                 "区住房和建设委员会", "智慧城市", "internal", "rest", "pull",
                 ("ConstructionSite",)),
    # 智慧民生 — smart livelihood
    SourceSystem("cameras", "雪亮工程视频平台", "Sharp Eyes video platform",
                 "区委政法委", "智慧民生", "sensitive", "rest", "live", ("Camera",)),
    SourceSystem("media-center", "融媒体中心", "Media center news feed",
                 "区融媒体中心", "智慧民生", "public", "rest", "pull", ("NewsItem",)),
    SourceSystem("population", "人口基础信息库", "Population register",
                 "区公安局", "智慧民生", "personal", "database", "pull", ("Citizen",)),
)  # fmt: skip

SYSTEM_BY_ID = {s.id: s for s in SYSTEMS}

if len(SYSTEMS) != 28 or len(SYSTEM_BY_ID) != 28:  # pragma: no cover - guards the catalog
    raise AssertionError("Binhai integrated 28 systems")


def system_for_kind(kind: str) -> str:
    """The system a record kind comes from (SourceSystem records describe themselves)."""
    for system in SYSTEMS:
        if kind in system.kinds:
            return system.id
    raise KeyError(f"no source system declares kind {kind!r}")
