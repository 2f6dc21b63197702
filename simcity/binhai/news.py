"""Local news from the district media center (融媒体中心), fed to the "微资讯" section of the
app: Chinese titles and bodies assembled from seeded templates about Binhai's streets, parks,
rivers and services.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from simcity.binhai.context import BASE_TIME, Context, iso, key
from simcity.binhai.parks import PARKS
from simcity.binhai.streets import STREETS
from simcity.binhai.water import RIVERS

NEWS_PER_SCALE = 600

_TEMPLATES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "经济": (
        (
            "{park}{n}个重点项目集中签约 总投资{money}亿元",
            (
                "{date}，{park}举行重点项目集中签约仪式，{n}个项目现场签约，总投资{money}亿元。",
                "签约项目涵盖{industry}等领域，将进一步壮大园区主导产业。",
                "园区负责人表示，将持续优化营商环境，做好项目落地全流程服务。",
            ),
        ),
        (
            "滨海新区前{months}个月规上工业增加值同比增长{pct}%",
            (
                "记者从区统计局获悉，今年前{months}个月，滨海新区规模以上工业增加值同比增长{pct}%。",
                "其中，{industry}等行业增势明显，对全区工业增长的贡献持续提升。",
                "下一步，新区将聚焦重点产业链，推动经济运行稳中向好。",
            ),
        ),
        (
            "“双万双服”走进{park} 现场解决企业诉求{n}项",
            (
                "{date}，区“双万双服”工作组走进{park}，与企业面对面座谈。",
                "活动现场收集企业诉求{n}项，涉及用工、融资、物流等方面，已当场解决大部分问题。",
                "相关部门将对其余诉求建立台账，限期办结并及时反馈。",
            ),
        ),
        (
            "东疆融资租赁资产规模再创新高",
            (
                "{date}，记者从东疆保税港区获悉，区内融资租赁资产规模持续扩大。",
                "今年以来新增飞机、船舶租赁业务{n}单，{industry}等新领域租赁业务快速发展。",
                "东疆将继续深化金融开放创新，打造国际租赁中心。",
            ),
        ),
    ),
    "民生": (
        (
            "{street}新建{n}处便民服务点 打造15分钟便民生活圈",
            (
                "为打造“15分钟便民服务圈”，{street}今年新建{n}处便民服务点。",
                "服务点提供家政、维修、养老助餐等服务，方便居民就近办事。",
                "居民纷纷表示，“出门几分钟就能把事办了，真方便。”",
            ),
        ),
        (
            "“指尖办”再扩容 新增{n}项政务服务事项可掌上办理",
            (
                "{date}起，“滨海掌上行”APP“指尖办”板块新增{n}项政务服务事项。",
                "市民只需在手机上上传所需材料，即可在线申办，无需跑窗口。",
                "区行政审批局表示，将持续推进更多事项“掌上办”“一次办”。",
            ),
        ),
        (
            "{street}老旧小区改造惠及{n}户居民",
            (
                "{street}今年启动老旧小区改造工程，涉及{n}户居民。",
                "改造内容包括屋面防水、外墙保温、管网更新和加装电梯等。",
                "工程预计年内完工，将有效改善居民居住条件。",
            ),
        ),
        (
            "“随手拍”上线以来累计受理群众反映问题{num}件",
            (
                "记者从区便民服务中心获悉，“随手拍”功能上线以来，累计受理群众反映问题{num}件。",
                "问题经分拨派遣至相关部门处置，办结率达{pct}%。",
                "“人人都是网格员”的理念正在深入人心。",
            ),
        ),
    ),
    "城市管理": (
        (
            "{street}开展市容环境集中整治行动",
            (
                "{date}，{street}组织城管、网格员等力量，开展市容环境集中整治行动。",
                "行动重点清理{road}沿线占道经营、乱堆乱放等问题，共清理各类杂物{n}余处。",
                "街道将建立长效机制，巩固整治成果。",
            ),
        ),
        (
            "网格员“秒拍秒传” {street}问题处置效率提升{pct}%",
            (
                "{street}网格员在日常巡查中发现问题后，通过手机“秒拍秒传”至便民服务中心。",
                "中心即时分拨派遣，问题平均处置时间较去年缩短{pct}%。",
                "“人在格中走，事在网上办”的精细化管理模式成效明显。",
            ),
        ),
        (
            "渣土车专项整治查处违规车辆{n}辆",
            (
                "近期，区城市管理委员会联合交通、公安部门开展渣土车专项整治。",
                "整治期间共查处未密闭运输、不按规定路线行驶等违规车辆{n}辆。",
                "相关部门将依托渣土车辆监管系统，实现全过程动态监管。",
            ),
        ),
    ),
    "生态环境": (
        (
            "{river}水质持续改善 主要断面稳定达标",
            (
                "记者从区生态环境局获悉，{river}主要监测断面水质持续改善。",
                "今年以来，{river}沿线完成{n}处排口整治，水质达标率达到{pct}%。",
                "新区将深入落实河湖长制，巩固水环境治理成果。",
            ),
        ),
        (
            "滨海新区入汛前完成{n}座泵站检修",
            (
                "为确保安全度汛，新区入汛前完成{n}座排水泵站设备检修。",
                "同时对{street}等易积水点位进行排查，提前部署移动泵车等抢险力量。",
                "区水务局提醒市民，降雨期间注意避开积水路段。",
            ),
        ),
    ),
    "应急安全": (
        (
            "{park}开展危险化学品事故应急演练",
            (
                "{date}，{park}组织开展危险化学品泄漏事故应急演练。",
                "演练模拟储罐区发生泄漏，检验了企业自救和园区联动处置能力，参演人员{people}余人。",
                "区应急管理局要求企业压实主体责任，确保安全生产形势稳定。",
            ),
        ),
        (
            "全区危化品运输车辆实现动态监控全覆盖",
            (
                "记者从区交通运输局获悉，全区危化品运输车辆已全部安装监控设备。",
                "监管平台可实时查看车辆位置、行驶轨迹和驾驶行为，今年以来预警处置超速等行为{n}起。",
                "相关部门将持续加强危化品运输全链条监管。",
            ),
        ),
    ),
    "文化": (
        (
            "{street}举办社区文化节 {people}余名居民参与",
            (
                "{date}，{street}社区文化节开幕，{people}余名居民参与。",
                "文化节包括文艺汇演、书画展览、非遗展示等活动，丰富了群众精神文化生活。",
                "街道表示，将持续开展形式多样的群众文化活动。",
            ),
        ),
        (
            "滨海新区图书馆推出{n}场暑期阅读活动",
            (
                "暑期将至，滨海新区图书馆推出{n}场阅读推广活动。",
                "活动面向青少年，涵盖亲子阅读、科普讲座、手工体验等内容。",
                "市民可通过“滨海掌上行”APP在线预约报名。",
            ),
        ),
    ),
}
_INDUSTRIES = ("新能源", "生物医药", "高端装备", "新材料", "航空航天", "信息技术", "石油化工",
               "港口物流", "融资租赁", "海洋经济")  # fmt: skip
_SOURCES = ("滨海新区融媒体中心", "津滨海客户端", "滨海发布")


def generate_news(ctx: Context) -> list[dict[str, Any]]:
    rng = ctx.rng("news")
    fake = ctx.faker("news")
    reporters = [fake.name() for _ in range(24)]
    n = NEWS_PER_SCALE * ctx.scale
    categories = sorted(_TEMPLATES)
    out = []
    for i in range(1, n + 1):
        category = rng.choice(categories)
        title_t, body_t = rng.choice(_TEMPLATES[category])
        published = BASE_TIME - timedelta(seconds=rng.randrange(3600, 365 * 86400))
        street = rng.choice(STREETS)
        park = rng.choice(PARKS)
        river = rng.choice(RIVERS)
        slots = {
            "street": street.name,
            "park": park.name,
            "river": river.name,
            "road": rng.choice(street.roads),
            "industry": "、".join(rng.sample(_INDUSTRIES, 2)),
            "n": str(rng.randrange(3, 60)),
            "people": str(rng.randrange(1, 30) * 100),
            "num": f"{rng.randrange(2, 30) * 1000 + rng.randrange(0, 1000)}",
            "money": f"{rng.randrange(5, 300)}",
            "pct": f"{rng.randrange(50, 99)}.{rng.randrange(0, 10)}"
            if "率" in "".join(body_t)
            else f"{rng.randrange(2, 15)}.{rng.randrange(0, 10)}",
            "months": str(max(1, published.month - 1)),
            "date": f"{published.month}月{published.day}日",
        }
        title = title_t.format(**slots)
        body = "".join(s.format(**slots) for s in body_t)
        mentions = [s for s in (street.name, park.name, river.name) if s in title + body]
        out.append(
            ctx.record(
                "NewsItem",
                key("NEWS", i),
                "media-center",
                f"RMT{published:%Y%m%d}{i:06d}",
                iso(published + timedelta(seconds=rng.randrange(60, 3600))),
                {
                    "title": title,
                    "body": body,
                    "category": category,
                    "source": rng.choice(_SOURCES),
                    "author": rng.choice(reporters),
                    "published_at": iso(published),
                    "mentions": mentions,
                    "views": int(rng.lognormvariate(7.0, 1.0)),
                    "url": f"https://news.binhai.sim/{published:%Y%m%d}/{i:06d}.html",
                },
            )
        )
    return out
