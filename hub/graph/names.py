"""Normalised firm names and addresses, the fallback identity when a system has no credit code.

Systems spell the same firm differently: 天津银昊融资租赁有限公司, 银昊融资租赁（天津）有限公司,
天津市银昊融资租赁有限公司, 银昊租赁. ``name_key`` folds the first three together; ``brand_key``
also drops the line of business, which folds in the fourth at a lower confidence.
"""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_REGION_PREFIX = re.compile(r"^(中国)?(天津市?|滨海新区|天津滨海新区|天津市滨海新区)+")
_REGION_INFIX = re.compile(r"[(（](天津市?|滨海新区|天津滨海)[)）]")
_LEGAL_FORM = re.compile(r"(股份有限公司|有限责任公司|有限公司|分公司|集团|公司)+$")
_BUSINESS = re.compile(
    "(融资租赁|金融租赁|租赁|融资担保|担保|小额贷款|小贷|典当行?|商业保理|保理|私募基金管理|"
    "基金管理|资产管理|投资管理|交易中心|交易所|石油化工|石化|化工|化学|气体|物流|运输|仓储|"
    "供应链|贸易|科技|实业|发展|工程|建设|建筑)+$"
)
_ADDRESS_PREFIX = re.compile(r"^(天津市?)?(滨海新区)?")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def name_key(name: str) -> str:
    """The firm's name without region, brackets, legal form or punctuation."""
    text = _REGION_INFIX.sub("", _fold(name))
    text = _PUNCT.sub("", text)
    text = _REGION_PREFIX.sub("", text)
    return _LEGAL_FORM.sub("", text)


def brand_key(name: str) -> str:
    """The firm's trade name alone (name_key without its line of business)."""
    core = name_key(name)
    brand = _BUSINESS.sub("", core)
    return brand if len(brand) >= 2 else core


def address_key(address: str) -> str:
    text = _PUNCT.sub("", _fold(address))
    return _ADDRESS_PREFIX.sub("", text)


def plate_key(plate: str) -> str:
    """A plate as the vehicle registry writes it: 津G·53486, 津G53486, 津g 53486 → 津G53486."""
    return _PUNCT.sub("", _fold(plate)).upper()
