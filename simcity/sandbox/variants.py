"""How people and other systems spell a firm's name.

The registry writes 天津银昊融资租赁有限公司; the statistics bureau
银昊融资租赁（天津）有限公司, the law-enforcement system 天津市银昊融资租赁有限公司,
a complainant 银昊租赁 — the same firm, which entity resolution must recognise from the
name and, where the system records one, the code.
"""

from __future__ import annotations

import re

_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "合伙企业（有限合伙）", "中心")
_PREFIX = re.compile(r"^(天津滨海新区|天津滨海|天津市|天津)")
_FOREIGN = re.compile(r"^(?P<trade>.+?)（天津）(?P<rest>.+)$")


def parts(name: str) -> tuple[str, str, str]:
    """(trade name, industry, legal form) of a registry name, best effort."""
    form = next((f for f in _FORMS if name.endswith(f)), "")
    body = name[: len(name) - len(form)] if form else name
    foreign = _FOREIGN.match(body)
    if foreign:
        trade, industry = foreign["trade"], foreign["rest"]
    else:
        body = _PREFIX.sub("", body)
        trade, industry = body[:2], body[2:]
    return trade, industry, form


def variant(name: str, style: str) -> str:
    """One spelling of ``name``: canonical, foreign, city, short, halfwidth or spaced."""
    trade, industry, form = parts(name)
    if not industry:
        return name
    if style == "foreign":  # 银昊融资租赁（天津）有限公司
        return f"{trade}{industry}（天津）{form}"
    if style == "city":  # 天津市银昊融资租赁有限公司
        return f"天津市{trade}{industry}{form}"
    if style == "short":  # 银昊租赁
        return f"{trade}{industry[-2:]}"
    if style == "halfwidth":  # 银昊融资租赁(天津)有限公司
        return f"{trade}{industry}(天津){form}"
    if style == "spaced":
        return f" {name} "
    return name


STYLES = ("canonical", "foreign", "city", "short", "halfwidth", "spaced")
