"""Reference (oracle) for ``core_ext.mask_rows``: the same masking rules in plain Python."""

from __future__ import annotations

from typing import Any

COMPOUND_SURNAMES = frozenset(
    (
        "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐",
        "长孙", "宇文", "司徒", "司空", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门",
        "百里", "呼延", "万俟", "澹台", "公冶", "太史", "申屠", "钟离", "闻人", "赫连",
        "濮阳", "宗政", "拓跋", "东郭", "第五", "公羊", "仲孙", "单于", "羊舌", "微生",
    )
)  # fmt: skip

MASKS = ("phone", "id_number", "name", "redact")


def _keep_ends(s: str, head: int, tail: int) -> str:
    if len(s) < head + tail:
        return "*" * len(s)
    return s[:head] + "*" * (len(s) - head - tail) + s[len(s) - tail :]


def mask_phone(s: str) -> str:
    return _keep_ends(s, 3, 4)


def mask_id_number(s: str) -> str:
    return _keep_ends(s, 6, 4)


def mask_name(s: str) -> str:
    if len(s) <= 1:
        return "*" * len(s)
    if len(s) > 2 and s[:2] in COMPOUND_SURNAMES:
        return s[:2] + "*" * (len(s) - 2)
    return s[0] + "*" * (len(s) - 1)


def mask_redact(s: str) -> str:
    return "*" * len(s)


_FUNCS = {"phone": mask_phone, "id_number": mask_id_number, "name": mask_name,
          "redact": mask_redact}  # fmt: skip


def mask_value(mask: str, value: Any, field: str = "?", row_index: int = 0) -> Any:
    if value is None:
        return None
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return _FUNCS[mask](str(value))
    raise TypeError(
        f"row {row_index}: field {field!r} must be str, int or None to be masked, "
        f"got {type(value).__name__}"
    )


def mask_rows(rows: list[dict[str, Any]], fields_to_masks: dict[str, str]) -> list[dict[str, Any]]:
    if not isinstance(fields_to_masks, dict):
        raise TypeError("fields_to_masks must be a dict")
    if not isinstance(rows, list):
        raise TypeError("rows must be a list of dicts")
    for mask in fields_to_masks.values():
        if mask not in _FUNCS:
            raise ValueError(f"unknown mask {mask!r}; known masks: {', '.join(MASKS)}")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TypeError(f"row {i} must be a dict, got {type(row).__name__}")
        copy = dict(row)
        for field, mask in fields_to_masks.items():
            if field in copy:
                copy[field] = mask_value(mask, copy[field], field, i)
        out.append(copy)
    return out
