"""智慧城市 — smart city: base map, hazardous chemicals, water, muck trucks, construction."""

from __future__ import annotations

from connectors.binhai.spec import ConnectorSpec, fields
from connectors.mapping import KindMapping

_SITE = fields(
    "场所编号=source_id_unused 场所名称=name 企业编号=firm 场所类型=site_type 地址=address "
    "面积（㎡）=area_m2:float 储存能力（吨）=storage_capacity_t:float 储罐数=tanks:int "
    "危险类别=hazard_classes:json 重大危险源等级=major_hazard_level 园区=park 街道=street "
    "网格=grid_cell"
)
_SITE.pop("场所编号")

SPECS = (
    # The planning bureau publishes the base map as GeoJSON files in a shared folder.
    ConnectorSpec(
        "base-map", "filedrop",
        mappings=(
            KindMapping(kind="District", stream="district_*.geojson", key="key",
                        source_id="adcode", fields=fields("adcode"), geometry="geometry",
                        rest="same", required=("name",)),
            KindMapping(kind="Street", stream="streets_*.geojson", key="key", source_id="code",
                        fields=fields("code"), geometry="geometry", rest="same",
                        required=("name",)),
            KindMapping(kind="IndustrialPark", stream="parks_*.geojson", key="key",
                        source_id="code", fields=fields("code"), geometry="geometry",
                        rest="same", required=("name",)),
        ),
    ),
    # The emergency bureau's registry exports XLSX (firms) and CSV (sites, tanks) nightly.
    ConnectorSpec(
        "hazchem-registry", "filedrop",
        mappings=(
            KindMapping(
                kind="HazchemFirm", stream="危化品企业_*.xlsx", key="企业编号",
                source_id="登记编号",
                fields=fields(
                    "企业名称=name 统一社会信用代码=uscc 市场主体编号=enterprise 类别=category "
                    "类别名称=category_name 地址=address 从业人数=employees:int "
                    "年周转量（吨）=annual_throughput_t:float 安全许可证号=license_no "
                    "许可证有效期至=license_valid_until 重大危险源等级=major_hazard_level "
                    "安全标准化等级=safety_standardization_level 安全负责人=safety_officer "
                    "安全负责人电话=safety_officer_phone 未整改隐患=hidden_hazards_open:int "
                    "近12月整改隐患=hidden_hazards_closed_12m:int 最近检查日期=last_inspection "
                    "涉及物质=substances:json 场所编号=site 园区=park 街道=street 网格=grid_cell"
                ),
                point=("经度", "纬度"), required=("name", "uscc"),
            ),
            KindMapping(kind="HazchemSite", stream="危化品场所_*.csv", key="场所key",
                        source_id="场所编号", fields=_SITE, point=("经度", "纬度"),
                        required=("name", "firm")),
            KindMapping(
                kind="Tank", stream="储罐台账_*.csv", key="储罐key", source_id="储罐编号",
                fields=fields(
                    "罐号=tank_no 企业编号=firm 场所编号=site 罐型=tank_type 储存方式=storage "
                    "容积（m³）=capacity_m3:float 直径（m）=diameter_m:float "
                    "高度（m）=height_m:float "
                    "设计压力（kPa）=design_pressure_kpa:float "
                    "设计温度（℃）=design_temperature_c:json "
                    "液位阈值（m）=level_thresholds_m:json 储存物质=substance:json "
                    "投用日期=commissioned "
                    "状态=status 网格=grid_cell"
                ),
                point=("经度", "纬度"), required=("site", "tank_no"),
            ),
        ),
    ),
    ConnectorSpec(
        "warehouse-iot", "mqtt", mode="push",
        mappings=(KindMapping(kind="StockMovement", stream="binhai/warehouse-iot/slips/#",
                              key="slipKey", source_id="slipNo", fields={},
                              updated_at="slipIssuedAt", rest="camel",
                              required=("site", "direction", "quantity_t")),),
    ),
    ConnectorSpec(
        "tank-sensors", "mqtt", mode="push",
        mappings=(KindMapping(kind="Sensor", stream="binhai/tank-sensors/state/#", key="key",
                              # the time of the last value is a fact of the sensor too
                              # (the hub's tank watch starts from it), not only the cursor
                              source_id="sn", fields={"lastReadingAt": "last_reading_at"},
                              point=("lng", "lat"), updated_at="lastReadingAt", rest="camel",
                              required=("tank", "quantity")),),
    ),
    ConnectorSpec(
        "vehicle-gps", "mqtt", mode="push",
        mappings=(KindMapping(kind="HazchemVehicle", stream="binhai/vehicle-gps/state/#",
                              key="vehicleKey", source_id="terminalId", fields={},
                              point=("lng", "lat"), updated_at="lastGpsAt", rest="camel",
                              required=("plate",)),),
    ),
    ConnectorSpec(
        "water-quality", "rest", options={"pagination": "page", "items": "items"},
        mappings=(KindMapping(kind="WaterStation", stream="api/stations", key="id",
                              source_id="stationCode", fields={}, point=("lng", "lat"),
                              updated_at="sampledAt", rest="camel", required=("name",)),),
    ),
    ConnectorSpec(
        "hydrology", "rest", options={"pagination": "offset", "items": "data.list"},
        mappings=(
            KindMapping(kind="River", stream="sq/rivers", key="id", source_id="hdbm",
                        fields={}, geometry="shape", rest="camel", required=("name",)),
            KindMapping(kind="PondingPoint", stream="sq/ponding", key="id", source_id="jsdbm",
                        fields={}, point=("lng", "lat"), rest="camel", required=("name",)),
        ),
    ),
    ConnectorSpec(
        "pump-gate-scada", "mqtt", mode="live",
        mappings=(
            KindMapping(kind="PumpStation", stream="binhai/pump-gate-scada/pumps/#", key="key",
                        source_id="tag", fields={}, point=("lng", "lat"), rest="camel",
                        required=("name",)),
            KindMapping(kind="Gate", stream="binhai/pump-gate-scada/gates/#", key="key",
                        source_id="tag", fields={}, point=("lng", "lat"), rest="camel",
                        required=("name",)),
        ),
    ),
    ConnectorSpec(
        "muck-gps", "mqtt", mode="push",
        mappings=(
            KindMapping(kind="MuckTruck", stream="binhai/muck-gps/trucks/#", key="truckKey",
                        source_id="terminalId", fields={}, point=("lng", "lat"),
                        updated_at="lastGpsAt", rest="camel", required=("plate",)),
            KindMapping(kind="DumpingSite", stream="binhai/muck-gps/sites/#", key="siteKey",
                        source_id="siteNo", fields={}, geometry="boundary", rest="camel",
                        required=("name",)),
        ),
    ),
    ConnectorSpec(
        "construction-sites", "rest", options={"pagination": "next", "items": "results"},
        mappings=(KindMapping(kind="ConstructionSite", stream="api/sites", key="id",
                              source_id="permitNo", fields=fields("permitNo=permit_no"),
                              geometry="footprint", rest="camel", required=("name",)),),
    ),
)  # fmt: skip
