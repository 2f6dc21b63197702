""" "Sharp Eyes" (雪亮工程) cameras: public-security video points over the district.

Most follow the population (intersections, estates, schools), the rest watch the industrial
parks and the port. Each carries a 20-digit GB/T 28181 device id (centre code 12011600,
industry 00, type 132 = network camera, network flag 0, 6-digit serial) as its source id.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np

from simcity.binhai.context import BASE_TIME, Context, iso, key
from simcity.binhai.outline import point
from simcity.binhai.parks import PARKS, park_shapes

CAMERAS_PER_SCALE = 4000
CAMERA_TYPES = (
    ("枪机", 40),
    ("球机", 25),
    ("人脸识别卡口", 10),
    ("车辆卡口", 15),
    ("高空瞭望", 5),
    ("电子警察", 5),
)
OWNERS = (("区公安局", 55), ("区城市管理委员会", 12), ("区交通运输局", 13), ("社区", 15),
          ("区应急管理局", 5))  # fmt: skip
PLACES = (
    "交口",
    "路口东侧",
    "路口西侧",
    "小区东门",
    "小区南门",
    "学校门口",
    "公交站",
    "广场",
    "桥下",
)


def gb28181_id(serial: int) -> str:
    return f"12011600001320{serial % 10**6:06d}"


def generate_cameras(ctx: Context) -> list[dict[str, Any]]:
    rng = ctx.rng("cameras")
    nrng = ctx.np_rng("cameras")
    n = CAMERAS_PER_SCALE * ctx.scale
    pts = ctx.population_points(nrng, n)
    shapes = park_shapes()
    in_park = nrng.random(n) < 0.2
    park_idx = nrng.integers(0, len(PARKS), n)
    for j in np.flatnonzero(in_park).tolist():
        park = PARKS[int(park_idx[j])]
        pts[j] = ctx.near_points(
            nrng, park.lon, park.lat, park.radius_km / 2, 1, within=shapes[park.code]
        )[0]
    located = ctx.locate(pts[:, 0], pts[:, 1])
    types = [t for t, _ in CAMERA_TYPES]
    type_w = [w for _, w in CAMERA_TYPES]
    owners = [o for o, _ in OWNERS]
    owner_w = [w for _, w in OWNERS]
    out = []
    for i in range(n):
        serial = i + 1
        cell, street = located[i]
        roads = ctx.street(street).roads
        road, cross = rng.sample(roads, 2) if len(roads) > 1 else (roads[0], roads[0])
        place = rng.choice(PLACES)
        name = f"{road}与{cross}{place}" if place.startswith(("交口", "路口")) else f"{road}{place}"
        status = rng.choices(["在线", "离线", "故障"], [94, 4, 2])[0]
        installed = date(2016, 1, 1) + timedelta(days=rng.randrange(0, 3600))
        ctype = rng.choices(types, type_w)[0]
        out.append(
            ctx.record(
                "Camera",
                key("CAM", serial),
                "cameras",
                gb28181_id(serial),
                ctx.fetched_at(rng, 2),
                {
                    "name": name,
                    "camera_type": ctype,
                    "resolution": rng.choice(["1080P", "400万像素", "800万像素(4K)"]),
                    "owner": rng.choices(owners, owner_w)[0],
                    "street": street,
                    "grid_cell": cell,
                    "park": f"PARK-{PARKS[int(park_idx[i])].code}" if in_park[i] else None,
                    "installed": installed.isoformat(),
                    "status": status,
                    "last_heartbeat_at": iso(
                        BASE_TIME
                        - timedelta(
                            seconds=rng.randrange(1, 60) + (0 if status == "在线" else 86400)
                        )
                    ),
                    "ptz": ctype in ("球机", "高空瞭望"),
                    "night_vision": rng.random() < 0.85,
                    "ai_capabilities": sorted(
                        rng.sample(
                            [
                                "人脸识别",
                                "车牌识别",
                                "占道经营识别",
                                "垃圾暴露识别",
                                "烟火识别",
                                "人群聚集识别",
                            ],
                            rng.randrange(0, 3),
                        )
                    ),
                    "gb28181_id": gb28181_id(serial),
                    "stream": f"rtsp://video.binhai.sim/live/{gb28181_id(serial)}",
                },
                point(float(pts[i, 0]), float(pts[i, 1])),
            )
        )
    return out
