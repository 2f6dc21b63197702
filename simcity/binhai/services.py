"""Government services: the catalog of service items with their required materials (政务服务
事项), and the online applications citizens and firms file through "指尖办" (滨海掌上行).

The catalog is fixed (it does not grow with ``scale``); applications do.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from simcity.binhai.context import BASE_TIME, Context, iso, key

APPLICATIONS_PER_SCALE = 3000

MATERIALS: dict[str, str] = {
    "id": "申请人有效身份证件",
    "license": "营业执照",
    "proxy": "授权委托书及受托人身份证件",
    "hukou": "户口簿",
    "marriage": "结婚证",
    "birth": "出生医学证明",
    "property": "不动产权证书",
    "lease": "房屋租赁合同",
    "floorplan": "经营场所平面布局图",
    "health": "从业人员健康证明",
    "fire": "消防安全检查合格证明",
    "eia": "环境影响评价文件",
    "plan": "建设工程规划许可证",
    "contract": "施工合同",
    "drawing": "施工图设计文件审查合格书",
    "safety": "安全生产管理制度及操作规程",
    "bank": "银行账户信息",
    "photo": "近期免冠证件照片",
    "income": "家庭收入及财产状况说明",
    "disability": "残疾人证",
    "medical": "医疗费用票据及明细",
    "diploma": "学历学位证书",
    "labor": "劳动合同",
    "articles": "公司章程",
    "shareholders": "股东会决议",
    "name": "企业名称自主申报告知书",
    "vehicle": "机动车行驶证",
    "driver": "机动车驾驶证",
    "tech": "专业技术人员资格证明",
    "equipment": "设备设施清单",
    "qualification": "相关资质证书",
    "route": "运输路线及时间方案",
}

_TYPE_CODES = {"行政许可": "XK", "行政确认": "QR", "行政给付": "JF", "公共服务": "GG",
               "其他行政权力": "QT"}  # fmt: skip

# (name, type, department, serves 自然人/法人, materials, legal days, promised days, online level)
ITEMS: tuple[tuple[str, str, str, str, tuple[str, ...], int, int, str], ...] = (
    (
        "企业设立登记",
        "行政许可",
        "区市场监督管理局",
        "法人",
        ("id", "articles", "name", "lease", "shareholders"),
        15,
        1,
        "全程网办",
    ),
    (
        "企业变更登记",
        "行政许可",
        "区市场监督管理局",
        "法人",
        ("license", "shareholders", "articles"),
        15,
        1,
        "全程网办",
    ),
    (
        "企业注销登记",
        "行政许可",
        "区市场监督管理局",
        "法人",
        ("license", "shareholders"),
        15,
        3,
        "全程网办",
    ),
    (
        "个体工商户设立登记",
        "行政许可",
        "区市场监督管理局",
        "自然人",
        ("id", "lease"),
        15,
        1,
        "全程网办",
    ),
    (
        "食品经营许可",
        "行政许可",
        "区市场监督管理局",
        "法人",
        ("license", "floorplan", "health", "safety"),
        20,
        5,
        "网上预审",
    ),
    (
        "药品零售企业许可",
        "行政许可",
        "区市场监督管理局",
        "法人",
        ("license", "floorplan", "tech", "safety"),
        30,
        15,
        "网上预审",
    ),
    (
        "特种设备使用登记",
        "行政许可",
        "区市场监督管理局",
        "法人",
        ("license", "equipment", "tech"),
        15,
        5,
        "全程网办",
    ),
    (
        "公共场所卫生许可",
        "行政许可",
        "区卫生健康委员会",
        "法人",
        ("license", "floorplan", "health"),
        20,
        7,
        "网上预审",
    ),
    (
        "建筑工程施工许可证核发",
        "行政许可",
        "区住房和建设委员会",
        "法人",
        ("plan", "contract", "drawing", "qualification"),
        7,
        3,
        "全程网办",
    ),
    (
        "建设工程规划许可证核发",
        "行政许可",
        "区规划和自然资源局",
        "法人",
        ("license", "drawing", "property"),
        20,
        10,
        "网上预审",
    ),
    (
        "城市建筑垃圾处置核准",
        "行政许可",
        "区城市管理委员会",
        "法人",
        ("license", "contract", "vehicle", "route"),
        20,
        5,
        "全程网办",
    ),
    (
        "设置大型户外广告审批",
        "行政许可",
        "区城市管理委员会",
        "法人",
        ("license", "drawing", "property"),
        20,
        7,
        "网上预审",
    ),
    (
        "临时占用城市道路审批",
        "行政许可",
        "区城市管理委员会",
        "法人",
        ("license", "route", "drawing"),
        20,
        5,
        "全程网办",
    ),
    (
        "挖掘城市道路审批",
        "行政许可",
        "区城市管理委员会",
        "法人",
        ("license", "contract", "drawing"),
        20,
        5,
        "全程网办",
    ),
    (
        "城镇污水排入排水管网许可",
        "行政许可",
        "区水务局",
        "法人",
        ("license", "drawing", "equipment"),
        20,
        10,
        "网上预审",
    ),
    (
        "取水许可",
        "行政许可",
        "区水务局",
        "法人",
        ("license", "eia", "equipment"),
        45,
        20,
        "网上预审",
    ),
    (
        "危险化学品经营许可证核发",
        "行政许可",
        "区应急管理局",
        "法人",
        ("license", "safety", "qualification", "floorplan"),
        30,
        15,
        "网上预审",
    ),
    (
        "烟花爆竹经营（零售）许可",
        "行政许可",
        "区应急管理局",
        "法人",
        ("license", "safety", "floorplan"),
        20,
        10,
        "网上预审",
    ),
    (
        "道路货物运输经营许可",
        "行政许可",
        "区交通运输局",
        "法人",
        ("license", "vehicle", "driver", "safety"),
        20,
        5,
        "全程网办",
    ),
    (
        "道路危险货物运输许可",
        "行政许可",
        "区交通运输局",
        "法人",
        ("license", "vehicle", "driver", "safety", "qualification"),
        20,
        10,
        "网上预审",
    ),
    (
        "建设项目环境影响评价文件审批",
        "行政许可",
        "区生态环境局",
        "法人",
        ("license", "eia"),
        60,
        20,
        "网上预审",
    ),
    (
        "排污许可证核发",
        "行政许可",
        "区生态环境局",
        "法人",
        ("license", "eia", "equipment"),
        20,
        10,
        "全程网办",
    ),
    (
        "民办非企业单位成立登记",
        "行政许可",
        "区民政局",
        "法人",
        ("id", "articles", "lease"),
        60,
        20,
        "网上预审",
    ),
    (
        "社会团体成立登记",
        "行政许可",
        "区民政局",
        "法人",
        ("id", "articles", "lease"),
        60,
        20,
        "网上预审",
    ),
    (
        "教师资格认定",
        "行政许可",
        "区教育体育局",
        "自然人",
        ("id", "diploma", "health", "photo"),
        60,
        30,
        "全程网办",
    ),
    (
        "民办学校设立审批",
        "行政许可",
        "区教育体育局",
        "法人",
        ("articles", "property", "qualification"),
        90,
        60,
        "窗口办理",
    ),
    ("养犬登记", "行政许可", "区公安局", "自然人", ("id", "property", "photo"), 20, 5, "全程网办"),
    (
        "地方金融组织变更事项审批",
        "行政许可",
        "区金融工作局",
        "法人",
        ("license", "articles", "shareholders"),
        20,
        10,
        "网上预审",
    ),
    (
        "典当行设立初审",
        "行政许可",
        "区金融工作局",
        "法人",
        ("id", "articles", "shareholders", "lease"),
        20,
        15,
        "窗口办理",
    ),
    ("结婚登记", "行政确认", "区民政局", "自然人", ("id", "hukou", "photo"), 1, 1, "网上预约"),
    (
        "离婚登记",
        "行政确认",
        "区民政局",
        "自然人",
        ("id", "hukou", "marriage", "photo"),
        30,
        30,
        "网上预约",
    ),
    (
        "户口迁移（投靠）",
        "行政确认",
        "区公安局",
        "自然人",
        ("id", "hukou", "marriage", "property"),
        20,
        10,
        "网上预审",
    ),
    ("居住证办理", "行政确认", "区公安局", "自然人", ("id", "photo", "lease"), 15, 7, "全程网办"),
    (
        "人才引进落户",
        "行政确认",
        "区人力资源和社会保障局",
        "自然人",
        ("id", "diploma", "labor", "photo"),
        20,
        10,
        "全程网办",
    ),
    (
        "公共租赁住房保障资格",
        "行政确认",
        "区住房和建设委员会",
        "自然人",
        ("id", "hukou", "income"),
        30,
        20,
        "网上预审",
    ),
    (
        "不动产首次登记",
        "行政确认",
        "区规划和自然资源局",
        "自然人",
        ("id", "contract", "property"),
        30,
        5,
        "网上预审",
    ),
    (
        "最低生活保障审批",
        "行政给付",
        "区民政局",
        "自然人",
        ("id", "hukou", "income", "bank"),
        30,
        15,
        "网上预审",
    ),
    (
        "特困人员救助供养",
        "行政给付",
        "区民政局",
        "自然人",
        ("id", "hukou", "income"),
        30,
        20,
        "网上预审",
    ),
    ("临时救助", "行政给付", "区民政局", "自然人", ("id", "income", "medical"), 15, 5, "全程网办"),
    (
        "高龄老人津贴发放",
        "行政给付",
        "区民政局",
        "自然人",
        ("id", "hukou", "bank"),
        20,
        10,
        "全程网办",
    ),
    (
        "残疾人两项补贴",
        "行政给付",
        "区残疾人联合会",
        "自然人",
        ("id", "disability", "bank"),
        20,
        10,
        "全程网办",
    ),
    (
        "医疗费用手工报销",
        "行政给付",
        "区医疗保障局",
        "自然人",
        ("id", "medical", "bank"),
        30,
        15,
        "全程网办",
    ),
    (
        "失业保险金申领",
        "行政给付",
        "区人力资源和社会保障局",
        "自然人",
        ("id", "labor", "bank"),
        10,
        3,
        "全程网办",
    ),
    (
        "职业技能培训补贴申领",
        "行政给付",
        "区人力资源和社会保障局",
        "自然人",
        ("id", "diploma", "bank"),
        20,
        10,
        "全程网办",
    ),
    (
        "中小企业融资担保费补贴",
        "行政给付",
        "区金融工作局",
        "法人",
        ("license", "contract", "bank"),
        30,
        20,
        "网上预审",
    ),
    (
        "生育登记服务",
        "公共服务",
        "区卫生健康委员会",
        "自然人",
        ("id", "hukou", "marriage"),
        1,
        1,
        "全程网办",
    ),
    (
        "城乡居民医疗保险参保登记",
        "公共服务",
        "区医疗保障局",
        "自然人",
        ("id", "hukou"),
        1,
        1,
        "全程网办",
    ),
    (
        "城乡居民养老保险参保登记",
        "公共服务",
        "区人力资源和社会保障局",
        "自然人",
        ("id", "hukou", "bank"),
        1,
        1,
        "全程网办",
    ),
    (
        "就业创业证申领",
        "公共服务",
        "区人力资源和社会保障局",
        "自然人",
        ("id", "photo"),
        5,
        1,
        "全程网办",
    ),
    (
        "住房公积金提取",
        "公共服务",
        "市住房公积金管理中心滨海分中心",
        "自然人",
        ("id", "bank", "property"),
        3,
        1,
        "全程网办",
    ),
    (
        "房屋安全鉴定",
        "公共服务",
        "区住房和建设委员会",
        "自然人",
        ("id", "property"),
        20,
        15,
        "网上预审",
    ),
    (
        "义务教育入学报名",
        "公共服务",
        "区教育体育局",
        "自然人",
        ("hukou", "property", "birth"),
        30,
        30,
        "全程网办",
    ),
    ("无犯罪记录证明开具", "公共服务", "区公安局", "自然人", ("id",), 3, 1, "全程网办"),
    ("法律援助申请", "公共服务", "区司法局", "自然人", ("id", "income"), 7, 3, "网上预审"),
    ("人民调解申请", "公共服务", "区司法局", "自然人", ("id",), 30, 15, "全程网办"),
    (
        "机动车驾驶证换证",
        "公共服务",
        "区公安局",
        "自然人",
        ("id", "driver", "photo", "health"),
        1,
        1,
        "全程网办",
    ),
    (
        "医疗器械经营备案",
        "其他行政权力",
        "区市场监督管理局",
        "法人",
        ("license", "floorplan", "tech"),
        5,
        1,
        "全程网办",
    ),
    (
        "消防设计审查",
        "其他行政权力",
        "区住房和建设委员会",
        "法人",
        ("drawing", "license"),
        15,
        10,
        "全程网办",
    ),
    (
        "公众聚集场所投入使用前消防安全检查",
        "其他行政权力",
        "区消防救援支队",
        "法人",
        ("license", "fire", "floorplan"),
        10,
        5,
        "网上预审",
    ),
    (
        "融资租赁公司监管信息报送",
        "其他行政权力",
        "区金融工作局",
        "法人",
        ("license",),
        10,
        5,
        "全程网办",
    ),
)

CHANNELS = (("滨海掌上行", 55), ("天津网上办事大厅", 25), ("窗口", 20))


def item_code(index: int, item_type: str) -> str:
    return f"BH{_TYPE_CODES[item_type]}{index:04d}"


def generate_service_items(ctx: Context) -> list[dict[str, Any]]:
    rng = ctx.rng("service-items")
    out = []
    for i, (name, item_type, dept, serves, mats, legal, promised, online) in enumerate(ITEMS, 1):
        materials = [{"name": f"{name}申请表", "form": "电子版", "copies": 1, "required": True}]
        for m in mats:
            materials.append(
                {
                    "name": MATERIALS[m],
                    "form": rng.choice(["原件", "复印件", "电子版"]) if m != "photo" else "电子版",
                    "copies": 1,
                    "required": True,
                }
            )
        if serves == "法人" or rng.random() < 0.5:
            materials.append(
                {"name": MATERIALS["proxy"], "form": "原件", "copies": 1, "required": False}
            )
        out.append(
            ctx.record(
                "ServiceItem",
                key("SI", i),
                "service-items",
                item_code(i, item_type),
                ctx.fetched_at(rng, 72),
                {
                    "name": name,
                    "item_code": item_code(i, item_type),
                    "item_type": item_type,
                    "department": dept,
                    "serves": serves,
                    "materials": materials,
                    "legal_time_limit_days": legal,
                    "promised_time_limit_days": promised,
                    "online_level": online,
                    "max_visits": 0 if online == "全程网办" else 1,
                    "fee_cny": 0.0,
                    "channels": ["滨海掌上行", "天津网上办事大厅", "窗口"]
                    if online != "窗口办理"
                    else ["窗口"],
                },
            )
        )
    return out


def generate_applications(
    ctx: Context,
    items: list[dict[str, Any]],
    citizens: list[dict[str, Any]],
    enterprises: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    rng = ctx.rng("online-applications")
    n = APPLICATIONS_PER_SCALE * ctx.scale
    personal = [it for it in items if it["attrs"]["serves"] == "自然人"]
    corporate = [it for it in items if it["attrs"]["serves"] == "法人"]
    channels = [c for c, _ in CHANNELS]
    channel_w = [w for _, w in CHANNELS]
    out = []
    for i in range(1, n + 1):
        is_personal = rng.random() < 0.75
        item = rng.choice(personal if is_personal else corporate)
        submitted = BASE_TIME - timedelta(seconds=rng.randrange(600, 120 * 86400))
        status = _status(rng, submitted, item["attrs"]["promised_time_limit_days"])
        required = [m["name"] for m in item["attrs"]["materials"] if m["required"]]
        uploaded = list(required)
        if status == "退回补正" and len(uploaded) > 1:
            uploaded.remove(rng.choice(uploaded[1:]))
        attrs: dict[str, Any] = {
            "item": item["key"],
            "item_name": item["attrs"]["name"],
            "channel": rng.choices(channels, channel_w)[0]
            if item["attrs"]["online_level"] != "窗口办理"
            else "窗口",
            "submitted_at": iso(submitted),
            "status": status,
            "materials_uploaded": uploaded,
            "materials_missing": sorted(set(required) - set(uploaded)),
        }
        if is_personal:
            c = rng.choice(citizens)
            attrs.update(
                applicant_type="自然人",
                citizen=c["key"],
                applicant=c["attrs"]["name"],
                applicant_phone=c["attrs"]["phone"],
                street=c["attrs"]["street"],
            )
        else:
            e = rng.choice(enterprises)
            attrs.update(
                applicant_type="法人",
                enterprise=e["key"],
                applicant=e["attrs"]["name"],
                uscc=e["attrs"]["uscc"],
                street=e["attrs"]["street"],
            )
        if status == "已办结":
            done = submitted + timedelta(
                seconds=rng.randrange(
                    3600, max(3601, item["attrs"]["promised_time_limit_days"] * 86400)
                )
            )
            attrs["finished_at"] = iso(min(done, BASE_TIME - timedelta(seconds=60)))
            attrs["rating"] = rng.choices([5, 4, 3, 2, 1], [70, 18, 7, 3, 2])[0]
        out.append(
            ctx.record(
                "ServiceApplication",
                key("APP", i),
                "online-applications",
                f"SQ{submitted:%Y%m%d}{i:07d}",
                iso(BASE_TIME - timedelta(seconds=rng.randrange(1, 3600))),
                attrs,
            )
        )
    return out


def _status(rng: random.Random, submitted: Any, promised_days: int) -> str:
    age_days = (BASE_TIME - submitted).total_seconds() / 86400
    if age_days > promised_days + 2:
        return rng.choices(["已办结", "退回补正", "不予受理"], [90, 7, 3])[0]
    return rng.choices(["已受理", "审核中", "退回补正", "已办结"], [30, 40, 10, 20])[0]
