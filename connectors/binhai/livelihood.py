"""智慧民生 — smart livelihood: Sharp Eyes video, the media center, the population register."""

from __future__ import annotations

from connectors.binhai.spec import ConnectorSpec, fields
from connectors.mapping import KindMapping

SPECS = (
    # Cameras: the catalog is pulled; a camera's current status is read live at query time.
    ConnectorSpec(
        "cameras", "rest", mode="live", options={"pagination": "page", "items": "items"},
        live_path="/api/cameras/{id}/status",
        mappings=(KindMapping(kind="Camera", stream="api/cameras", key="id",
                              source_id="gb28181Id", fields=fields("gb28181Id=gb28181_id"),
                              point=("lng", "lat"), updated_at="lastHeartbeatAt", rest="camel",
                              required=("name",)),),
    ),
    ConnectorSpec(
        "media-center", "rest", options={"pagination": "next", "items": "articles"},
        mappings=(KindMapping(kind="NewsItem", stream="feed/articles", key="id",
                              source_id="articleId", fields={}, updated_at="publishedAt",
                              rest="camel", required=("title",)),),
    ),
    # The public-security population register: a relational database, pinyin columns.
    ConnectorSpec(
        "population", "sql",
        mappings=(KindMapping(
            kind="Citizen", stream="t_rkjbxx", key="rkbh", source_id="rkxh",
            fields=fields(
                "xm=name gmsfhm=resident_id xb=gender mz=ethnicity csrq=birth_date "
                "lxdh=phone hjlx=household_type jzdz=address jdmc=street wgbm=grid_cell "
                "djsj=registered_at yhbz=app_user:bool"
            ),
            point=("jd", "wd"), updated_at="gxsj", required=("name", "resident_id"),
        ),),
    ),
)  # fmt: skip
