"""The grid duty catalog (13 categories, 124 sub-categories) as the citizen-service centre
uses it: which department a case goes to, its time limit, and how a citizen's own words are
sorted into a sub-category.

Classification is a keyword rule, explainable term by term: each sub-category's terms are its
own name and the everyday words citizens use for it (``CITIZEN_WORDS``, weight 1.5), and the
two-character words inside the name (weight 1). A term found in the description scores
``weight * len(term) * idf(term)``, where ``idf`` is the log inverse share of sub-categories
carrying the term, so "井盖" (one sub-category) outweighs "损坏" (a dozen). The highest total
wins if it reaches ``MIN_SCORE``; ties go to the longest single matched term, then to catalog
order. The matched terms are kept with the case.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from schema.record import Record

# What citizens actually say, by sub-category name (the catalog's names are officialese).
CITIZEN_WORDS: dict[str, tuple[str, ...]] = {
    "暴露垃圾": ("垃圾", "乱扔", "乱倒"),
    "垃圾满溢": ("垃圾桶满", "垃圾箱满", "溢出", "满了"),
    "道路不洁": ("路面脏", "马路脏", "不干净"),
    "非法小广告": ("牛皮癣", "小广告", "贴广告"),
    "露天烧烤": ("烧烤", "烤串"),
    "乱涂乱画": ("涂鸦",),
    "施工扰民": ("施工噪音", "施工吵", "打桩"),
    "违规夜间施工": ("夜间施工", "半夜施工", "晚上施工"),
    "工地扬尘": ("扬尘", "尘土飞扬"),
    "渣土车未苫盖": ("渣土车", "苫盖"),
    "占道经营": ("摆摊", "占道"),
    "无照经营游商": ("游商", "小贩"),
    "机动车乱停放": ("乱停车", "违停", "堵路口", "挡住车库"),
    "共享单车乱停放": ("共享单车", "单车"),
    "流浪犬只": ("流浪狗", "野狗", "流浪犬"),
    "路面塌陷": ("塌陷", "塌了", "地陷", "大坑"),
    "供水管道破裂": ("水管爆", "爆管", "跑水", "漏水"),
    "燃气管道泄漏": ("燃气泄漏", "煤气味", "天然气味", "漏气"),
    "道路积水": ("积水", "水淹", "内涝"),
    "火灾险情": ("着火", "起火", "冒烟", "火灾"),
    "交通事故": ("车祸", "撞车", "追尾"),
    "危化品泄漏": ("化学品泄漏", "刺鼻"),
    "树木倒伏": ("树倒", "大树倒"),
    "树木病虫害": ("虫害", "虫子"),
    "违法建设": ("违建", "违章建筑", "加盖"),
    "私搭乱建": ("搭建", "乱搭"),
    "群租房": ("群租",),
    "楼道堆物": ("楼道堆", "杂物"),
    "井盖缺失破损": ("井盖",),
    "路灯不亮": ("路灯", "灯不亮", "黑灯"),
    "消防栓损坏": ("消防栓",),
    "交通信号灯故障": ("红绿灯", "信号灯", "红绿灯不亮"),
    "道路破损": ("路面破", "坑洼", "路坑"),
    "人行道破损": ("人行道", "地砖"),
    "盲道占用破损": ("盲道",),
    "燃气安全隐患": ("燃气隐患", "煤气罐"),
    "消防通道堵塞": ("消防通道",),
    "电动车违规充电": ("飞线充电", "电动车充电", "楼道充电"),
    "电线私拉乱接": ("私拉电线", "电线乱接"),
    "高空坠物隐患": ("高空坠物", "坠落"),
    "噪声污染": ("噪音", "噪声", "太吵", "扰民"),
    "餐饮油烟污染": ("油烟",),
    "污水直排": ("污水", "排污"),
    "废气排放": ("废气", "臭气"),
    "河道漂浮物": ("漂浮物", "河面垃圾"),
    "黑臭水体": ("黑臭", "河水发臭"),
    "邻里纠纷": ("邻居", "邻里"),
    "赌博线索": ("赌博",),
    "非法集资线索": ("非法集资", "集资", "高息"),
    "孤寡老人帮扶": ("独居老人", "孤寡老人", "空巢老人"),
    "拖欠工资": ("欠薪", "拖欠工资", "不发工资"),
    "供暖供水问题": ("暖气不热", "供暖", "停水", "没水"),
    "社保医保咨询": ("社保", "医保"),
}


WORD_WEIGHT = 1.5
# One inner word of a name alone ("天气" of 极端天气灾害) is too weak to sort a case by.
MIN_SCORE = 12.0


@dataclass(frozen=True)
class SubCategory:
    code: str
    name: str
    category: str
    category_name: str
    department: str
    time_limit_hours: int


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    department: str


@dataclass(frozen=True)
class Classification:
    subcategory: SubCategory
    score: float
    matched: tuple[str, ...]

    def explain(self) -> str:
        terms = "、".join(self.matched)
        return f"keywords {terms} -> {self.subcategory.code} {self.subcategory.name}"


@dataclass
class DutyCatalog:
    categories: dict[str, Category]
    subcategories: dict[str, SubCategory]  # in catalog order
    _terms: dict[str, list[tuple[str, float]]] = field(default_factory=dict)

    @classmethod
    def from_records(cls, cats: Iterable[Record], subs: Iterable[Record]) -> DutyCatalog:
        categories = {
            r.key: Category(r.key, r.attrs["name"], r.attrs.get("department") or "")
            for r in sorted(cats, key=lambda r: r.key)
        }
        subcategories: dict[str, SubCategory] = {}
        for r in sorted(subs, key=lambda r: r.key):
            a = r.attrs
            cat = categories.get(a["category"])
            subcategories[r.key] = SubCategory(
                code=r.key,
                name=a["name"],
                category=a["category"],
                category_name=a.get("category_name") or (cat.name if cat else ""),
                department=a.get("department") or (cat.department if cat else ""),
                time_limit_hours=int(a.get("time_limit_hours") or 72),
            )
        catalog = cls(categories, subcategories)
        catalog._index_terms()
        return catalog

    def _index_terms(self) -> None:
        raw: dict[str, dict[str, float]] = {}
        for sub in self.subcategories.values():
            # the name's inner words are weaker evidence than a whole name or a citizen word
            terms = {sub.name[i : i + 2]: 1.0 for i in range(len(sub.name) - 1)}
            terms.update({w: WORD_WEIGHT for w in (sub.name, *CITIZEN_WORDS.get(sub.name, ()))})
            raw[sub.code] = terms
        df: dict[str, int] = defaultdict(int)
        for terms in raw.values():
            for t in terms:
                df[t] += 1
        n = max(1, len(raw))
        self._terms = {
            code: [(t, f * len(t) * math.log(1 + n / df[t])) for t, f in sorted(terms.items())]
            for code, terms in raw.items()
        }

    def classify(self, text: str) -> Classification | None:
        """The sub-category the description is about, or None when no term matches."""
        best: tuple[float, int, int] | None = None
        found: Classification | None = None
        for order, (code, terms) in enumerate(self._terms.items()):
            matched = [(t, w) for t, w in terms if t in text]
            if not matched:
                continue
            # A matched term inside a longer matched term of the same sub-category counts once.
            kept = [(t, w) for t, w in matched if not any(t != u and t in u for u, _ in matched)]
            score = sum(w for _, w in kept)
            if score < MIN_SCORE:
                continue
            rank = (score, max(len(t) for t, _ in kept), -order)
            if best is None or rank > best:
                best = rank
                found = Classification(
                    self.subcategories[code],
                    round(score, 3),
                    tuple(t for t, _ in sorted(kept, key=lambda p: -p[1])),
                )
        return found

    def category_limit_hours(self, category: str) -> int:
        """A case with only a category gets the category's shortest sub-category limit."""
        limits = [s.time_limit_hours for s in self.subcategories.values() if s.category == category]
        return min(limits) if limits else 72

    def department_of(self, category: str | None, subcategory: str | None) -> str | None:
        if subcategory and subcategory in self.subcategories:
            return self.subcategories[subcategory].department
        if category and category in self.categories:
            return self.categories[category].department
        return None
