"""Hazardous substances stored, made and carried in Binhai: real UN numbers, CAS numbers and
hazard classes (GB 12268 / UN Model Regulations), with how their tanks are built and run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Substance:
    name: str
    un_number: str
    cas: str
    hazard_class: str  # UN class / division
    storage: str  # atmospheric / pressurized / refrigerated
    density_t_m3: float
    temp_c: tuple[float, float]  # normal operating range
    pressure_kpa: tuple[float, float]  # normal operating range (gauge)


SUBSTANCES: tuple[Substance, ...] = (
    Substance("原油", "UN1267", "8002-05-9", "3", "atmospheric", 0.86, (15, 45), (0.2, 2.0)),
    Substance("汽油", "UN1203", "86290-81-5", "3", "atmospheric", 0.73, (5, 35), (0.2, 2.0)),
    Substance("柴油", "UN1202", "68334-30-5", "3", "atmospheric", 0.84, (5, 40), (0.2, 2.0)),
    Substance("石脑油", "UN1268", "8030-30-6", "3", "atmospheric", 0.70, (5, 35), (0.2, 2.0)),
    Substance("甲醇", "UN1230", "67-56-1", "3", "atmospheric", 0.79, (5, 35), (0.2, 2.0)),
    Substance("乙醇", "UN1170", "64-17-5", "3", "atmospheric", 0.79, (5, 35), (0.2, 2.0)),
    Substance("苯", "UN1114", "71-43-2", "3", "atmospheric", 0.88, (10, 35), (0.2, 2.0)),
    Substance("甲苯", "UN1294", "108-88-3", "3", "atmospheric", 0.87, (5, 35), (0.2, 2.0)),
    Substance("二甲苯", "UN1307", "1330-20-7", "3", "atmospheric", 0.86, (5, 35), (0.2, 2.0)),
    Substance("苯乙烯", "UN2055", "100-42-5", "3", "atmospheric", 0.91, (5, 25), (0.2, 2.0)),
    Substance("丙酮", "UN1090", "67-64-1", "3", "atmospheric", 0.79, (5, 30), (0.2, 2.0)),
    Substance("乙酸乙酯", "UN1173", "141-78-6", "3", "atmospheric", 0.90, (5, 30), (0.2, 2.0)),
    Substance("丙烯腈", "UN1093", "107-13-1", "3", "atmospheric", 0.81, (5, 30), (0.2, 2.0)),
    Substance("1,2-二氯乙烷", "UN1184", "107-06-2", "3", "atmospheric", 1.25, (5, 30), (0.2, 2.0)),
    Substance("正己烷", "UN1208", "110-54-3", "3", "atmospheric", 0.66, (5, 30), (0.2, 2.0)),
    Substance("异丙醇", "UN1219", "67-63-0", "3", "atmospheric", 0.79, (5, 30), (0.2, 2.0)),
    Substance(
        "液化石油气", "UN1075", "68476-85-7", "2.1", "pressurized", 0.55, (0, 35), (400, 1400)
    ),
    Substance("丙烯", "UN1077", "115-07-1", "2.1", "pressurized", 0.51, (0, 35), (600, 1600)),
    Substance("氯乙烯", "UN1086", "75-01-4", "2.1", "pressurized", 0.91, (0, 30), (200, 450)),
    Substance("乙烯", "UN1038", "74-85-1", "2.1", "refrigerated", 0.57, (-104, -98), (5, 25)),
    Substance(
        "液化天然气", "UN1972", "74-82-8", "2.1", "refrigerated", 0.45, (-162, -155), (5, 25)
    ),
    Substance("液氨", "UN1005", "7664-41-7", "2.3", "pressurized", 0.61, (0, 35), (400, 1300)),
    Substance("液氯", "UN1017", "7782-50-5", "2.3", "pressurized", 1.47, (0, 30), (300, 800)),
    Substance("环氧乙烷", "UN1040", "75-21-8", "2.3", "pressurized", 0.88, (0, 15), (100, 300)),
    Substance("硫酸", "UN1830", "7664-93-9", "8", "atmospheric", 1.83, (5, 40), (0.1, 1.0)),
    Substance("盐酸", "UN1789", "7647-01-0", "8", "atmospheric", 1.18, (5, 35), (0.1, 1.0)),
    Substance("硝酸", "UN2031", "7697-37-2", "8", "atmospheric", 1.40, (5, 30), (0.1, 1.0)),
    Substance(
        "氢氧化钠溶液", "UN1824", "1310-73-2", "8", "atmospheric", 1.52, (10, 50), (0.1, 1.0)
    ),
    Substance("乙酸", "UN2789", "64-19-7", "8", "atmospheric", 1.05, (18, 35), (0.1, 1.0)),
    Substance("甲醛溶液", "UN2209", "50-00-0", "8", "atmospheric", 1.09, (15, 35), (0.1, 1.0)),
    Substance(
        "过氧化氢溶液", "UN2014", "7722-84-1", "5.1", "atmospheric", 1.20, (5, 30), (0.1, 1.0)
    ),
)

HAZARD_CLASS_NAMES = {
    "2.1": "易燃气体",
    "2.3": "毒性气体",
    "3": "易燃液体",
    "5.1": "氧化性物质",
    "8": "腐蚀性物质",
}

TANK_TYPES = {
    "atmospheric": ("内浮顶罐", "外浮顶罐", "固定顶罐", "卧式罐"),
    "pressurized": ("球罐", "卧式压力储罐"),
    "refrigerated": ("全容式低温储罐",),
}


def substance_attrs(s: Substance) -> dict[str, str]:
    return {
        "name": s.name,
        "un_number": s.un_number,
        "cas": s.cas,
        "hazard_class": s.hazard_class,
        "hazard_class_name": HAZARD_CLASS_NAMES[s.hazard_class],
    }
