"""The grid inspector's duty catalog: 13 categories, 124 sub-categories (13大类124项子类).

The source document gives only the counts; the names follow the usual Chinese urban
grid-management catalogs (城市管理部件事件分类). Codes are ``C01``…``C13`` and ``C01-01``….
Each sub-category carries the department a case is normally dispatched to and a handling time
limit in hours, which the case workflow will use.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DutyCategory:
    code: str
    name: str
    name_en: str
    department: str
    subcategories: tuple[tuple[str, int], ...]  # (name, time limit in hours)


def _subs(limit: int, *names: str) -> tuple[tuple[str, int], ...]:
    return tuple((n, limit) for n in names)


CATEGORIES: tuple[DutyCategory, ...] = (
    DutyCategory("C01", "市容环境", "City appearance and sanitation", "区城市管理委员会", _subs(
        24, "暴露垃圾", "积存垃圾渣土", "道路不洁", "水域不洁", "绿地脏乱", "焚烧垃圾",
        "违规晾晒", "乱涂乱画", "非法小广告", "沿街晾挂", "占道废品收购", "店外经营",
        "露天烧烤", "垃圾满溢")),
    DutyCategory("C02", "宣传广告", "Advertising and signage", "区城市管理委员会", _subs(
        48, "违规户外广告", "广告牌破损", "违规标语", "非法散发广告", "违规LED显示屏",
        "违规条幅横幅", "霓虹灯损坏", "公益广告破损")),
    DutyCategory("C03", "施工管理", "Construction management", "区住房和建设委员会", _subs(
        24, "施工扰民", "工地扬尘", "道路遗撒", "违规夜间施工", "施工占道", "工地围挡破损",
        "渣土车未苫盖", "无证掘路", "施工废弃料", "工地出入口不洁")),
    DutyCategory("C04", "街面秩序", "Street order", "区城市管理综合执法局", _subs(
        12, "无照经营游商", "占道经营", "机动车乱停放", "非机动车乱停放", "共享单车乱停放",
        "黑车揽客", "违规摆摊设点", "街头散发物品", "乞讨卖艺", "流浪犬只", "违规养禽")),
    DutyCategory("C05", "突发事件", "Emergencies", "区应急管理局", _subs(
        2, "路面塌陷", "供水管道破裂", "燃气管道泄漏", "道路积水", "火灾险情", "交通事故",
        "群体性事件", "危化品泄漏", "极端天气灾害")),
    DutyCategory("C06", "园林绿化", "Parks and greenery", "区城市管理委员会", _subs(
        72, "行道树缺失", "树木倒伏", "绿地破坏", "古树名木损坏", "绿化带缺株", "树木病虫害",
        "毁绿种菜", "花坛损坏", "绿篱破损")),
    DutyCategory("C07", "房屋管理", "Buildings and housing", "区住房和建设委员会", _subs(
        72, "违法建设", "私搭乱建", "危险房屋", "群租房", "房屋外立面破损", "违规改变房屋用途",
        "物业管理纠纷", "楼道堆物")),
    DutyCategory("C08", "公共设施", "Public facilities", "区城市管理委员会", _subs(
        48, "井盖缺失破损", "路灯不亮", "公交站亭损坏", "公厕设施损坏", "垃圾箱损坏",
        "消防栓损坏", "电力设施损坏", "通信设施损坏", "健身设施损坏", "报刊亭损坏",
        "公共座椅损坏", "景观设施损坏")),
    DutyCategory("C09", "交通设施", "Traffic facilities", "区交通运输局", _subs(
        24, "交通信号灯故障", "交通标志损坏", "道路破损", "交通护栏损坏", "隔离墩缺失",
        "人行道破损", "盲道占用破损", "减速带损坏", "停车泊位标线缺失", "电子警察故障")),
    DutyCategory("C10", "安全隐患", "Safety hazards", "区应急管理局", _subs(
        12, "燃气安全隐患", "消防通道堵塞", "电动车违规充电", "违规储存危化品",
        "广告牌坠落隐患", "电线私拉乱接", "高空坠物隐患", "地下空间安全隐患",
        "人员密集场所隐患")),
    DutyCategory("C11", "环境保护", "Environmental protection", "区生态环境局", _subs(
        24, "噪声污染", "餐饮油烟污染", "污水直排", "废气排放", "秸秆焚烧", "河道漂浮物",
        "固体废物倾倒", "工业粉尘", "黑臭水体")),
    DutyCategory("C12", "社会治安", "Public security", "区公安局", _subs(
        12, "治安隐患", "矛盾纠纷", "邻里纠纷", "赌博线索", "非法集资线索", "涉黄线索",
        "重点人员异常", "可疑人员物品")),
    DutyCategory("C13", "民生服务", "Livelihood services", "区民政局", _subs(
        72, "孤寡老人帮扶", "残疾人帮扶", "低保困难家庭", "就业咨询", "社保医保咨询",
        "拖欠工资", "供暖供水问题")),
)  # fmt: skip

SUBCATEGORIES: tuple[tuple[str, str, str, int], ...] = tuple(
    (f"{cat.code}-{i:02d}", cat.code, name, limit)
    for cat in CATEGORIES
    for i, (name, limit) in enumerate(cat.subcategories, start=1)
)
"""(code, category code, name, time limit in hours) for all 124 sub-categories."""

if len(CATEGORIES) != 13 or len(SUBCATEGORIES) != 124:  # pragma: no cover - guards the catalog
    raise AssertionError("the grid duty catalog has 13 categories and 124 sub-categories")
