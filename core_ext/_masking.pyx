# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Masking of personal data in response rows (Cython: the loop touches Python objects).

Masks:
  phone      keep the first 3 and last 4 characters: 13812341234 -> 138****1234
             (strings shorter than 7 characters are masked entirely)
  id_number  keep the first 6 and last 4 characters: 120116199001011234 -> 120116********1234
             (strings shorter than 10 characters are masked entirely)
  name       keep the surname: 张三 -> 张*, 欧阳娜娜 -> 欧阳** (a compound surname is kept
             whole when the name is longer than it); one-character names -> *
  redact     every character replaced: abc -> ***

None stays None; ints (not bools) are masked as their decimal string; any other type is a
TypeError. Rows are copied, never changed in place; fields absent from a row stay absent.
The plain-Python oracle is core_ext.reference.masking.
"""

from cpython.dict cimport PyDict_Copy

COMPOUND_SURNAMES = frozenset((
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐",
    "长孙", "宇文", "司徒", "司空", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门",
    "百里", "呼延", "万俟", "澹台", "公冶", "太史", "申屠", "钟离", "闻人", "赫连",
    "濮阳", "宗政", "拓跋", "东郭", "第五", "公羊", "仲孙", "单于", "羊舌", "微生",
))

MASKS = ("phone", "id_number", "name", "redact")

cdef enum MaskKind:
    PHONE = 0
    ID_NUMBER = 1
    NAME = 2
    REDACT = 3


cdef inline str _keep_ends(str s, Py_ssize_t head, Py_ssize_t tail):
    cdef Py_ssize_t n = len(s)
    if n < head + tail:
        return "*" * n
    return s[:head] + "*" * (n - head - tail) + s[n - tail:]


cpdef str mask_phone(str s):
    """Mask a phone number: keep the first 3 and last 4 characters."""
    return _keep_ends(s, 3, 4)


cpdef str mask_id_number(str s):
    """Mask a Chinese resident ID number: keep the first 6 and last 4 characters."""
    return _keep_ends(s, 6, 4)


cpdef str mask_name(str s):
    """Mask a personal name: keep the surname (compound surnames whole), star the rest."""
    cdef Py_ssize_t n = len(s)
    if n <= 1:
        return "*" * n
    if n > 2 and s[:2] in COMPOUND_SURNAMES:
        return s[:2] + "*" * (n - 2)
    return s[:1] + "*" * (n - 1)


cpdef str mask_redact(str s):
    """Replace every character with '*'."""
    return "*" * len(s)


cdef inline object _apply(int kind, object value, object field, Py_ssize_t row_index):
    cdef str s
    if value is None:
        return None
    if type(value) is str:
        s = <str>value
    elif isinstance(value, str):
        s = str(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        s = str(value)
    else:
        raise TypeError(
            f"row {row_index}: field {field!r} must be str, int or None to be masked, "
            f"got {type(value).__name__}"
        )
    if kind == PHONE:
        return _keep_ends(s, 3, 4)
    if kind == ID_NUMBER:
        return _keep_ends(s, 6, 4)
    if kind == NAME:
        return mask_name(s)
    return "*" * len(s)


cdef int _kind_of(object mask) except -1:
    if mask == "phone":
        return PHONE
    if mask == "id_number":
        return ID_NUMBER
    if mask == "name":
        return NAME
    if mask == "redact":
        return REDACT
    raise ValueError(f"unknown mask {mask!r}; known masks: {', '.join(MASKS)}")


def mask_rows(rows, fields_to_masks):
    """Return copies of ``rows`` with the fields in ``fields_to_masks`` masked.

    ``rows`` is a list of dicts; ``fields_to_masks`` maps a field name to one of
    ``"phone"``, ``"id_number"``, ``"name"``, ``"redact"``.
    """
    cdef list fields = []
    cdef list kinds = []
    cdef list out
    cdef Py_ssize_t nrows, nf, i, j
    cdef object row, key, mask, value
    cdef dict copy
    if not isinstance(fields_to_masks, dict):
        raise TypeError(f"fields_to_masks must be a dict, got {type(fields_to_masks).__name__}")
    if not isinstance(rows, list):
        raise TypeError(f"rows must be a list of dicts, got {type(rows).__name__}")
    for key, mask in (<dict>fields_to_masks).items():
        kinds.append(_kind_of(mask))
        fields.append(key)
    nrows = len(<list>rows)
    nf = len(fields)
    out = [None] * nrows
    for i in range(nrows):
        row = (<list>rows)[i]
        if not isinstance(row, dict):
            raise TypeError(f"row {i} must be a dict, got {type(row).__name__}")
        copy = PyDict_Copy(row)
        for j in range(nf):
            key = fields[j]
            if key in copy:
                value = copy[key]
                copy[key] = _apply(<int>kinds[j], value, key, i)
        out[i] = copy
    return out
