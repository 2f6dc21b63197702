"""Row-filter expressions: what they may say, and hostile text refused with a clear error."""

from __future__ import annotations

import pytest

from hub.policy.expr import ExpressionError, parse_filter
from hub.policy.model import PolicyError, parse_document

PRINCIPAL = {"street": "新港街道", "role": "department", "cells": ("BH-1", "BH-2")}


@pytest.mark.parametrize(
    ("text", "record", "expected"),
    [
        ("record.street == principal.street", {"street": "新港街道"}, True),
        ("record.street == principal.street", {"street": "其他"}, False),
        ("record.key in principal.cells", {}, False),
        ("record.code in principal.cells", {"code": "BH-2"}, True),
        ("record.population > 1000 and not record.closed", {"population": 1200}, True),
        ("record.population > 1000", {"population": "many"}, False),  # type clash: no match
        (
            "record.department in ['环保局', '应急局'] or principal.role == 'operator'",
            {"department": "应急局"},
            True,
        ),
        ("principal.unknown == None", {}, True),
        ("1 <= record.n < 3", {"n": 2}, True),
    ],
)
def test_allowed_expressions(text: str, record: dict[str, object], expected: bool) -> None:
    assert parse_filter(text).matches(PRINCIPAL, record) is expected


HOSTILE = [
    ("__import__('os').system('id')", "double underscores"),
    ("record.__class__.__mro__", "double underscores"),
    ("open('/etc/passwd').read() == ''", "function calls"),
    ("eval('1') == 1", "function calls"),
    ("record.street.upper == 1", "only principal.<attr> and record.<attr>"),
    ("record['street'] == 'x'", "subscripts"),
    ("(lambda: True)()", "function calls"),
    ("lambda: True", "lambdas"),
    ("os == 1", "bare name 'os'"),
    ("record.street + 'x' == 'y'", "BinOp is not allowed"),
    ("[x for x in record.cells]", "ListComp is not allowed"),
    ("f'{record.street}' == 'x'", "JoinedStr is not allowed"),
    ("record.a if record.b else record.c", "IfExp is not allowed"),
    ("(record.a := 1)", "not a valid expression"),
    ("record.street == 'x'; import os", "not a valid expression"),
    ("record.street == 'x' or 1).__class__", "double underscores"),
    ("record.Street == 1", "attribute name 'Street'"),
    ("self.street == 1", "only principal.<attr> and record.<attr>"),
    ("", "must not be empty"),
    ("record.a == 1 and " * 200 + "True", "limited to 1000 characters"),
    ("record.a in [open('x')]", "only literals"),
    ("\x00", "not a valid expression"),
]


@pytest.mark.parametrize(("text", "message"), HOSTILE)
def test_hostile_expressions_are_refused(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as refused:
        parse_filter(text)
    assert message in str(refused.value)


def test_documents_validate_their_filters_and_fields() -> None:
    good = parse_document(
        'name = "x"\nsubject = "role:partner"\n[types.GridCell]\n'
        'row_filter = "record.street == principal.street"\nmasks = { name = "name" }\n'
    )
    assert good.rule("GridCell") is not None and good.rule("Inspector") is None
    for source, message in [
        (
            'name = "x"\nsubject = "role:partner"\n[types.GridCell]\nrow_filter = "eval(1)"',
            "types.GridCell.row_filter",
        ),
        ('name = "x"\nsubject = "everyone"', "subject"),
        (
            'name = "x"\nsubject = "role:partner"\n[types.GridCell]\nmasks = { a = "rot13" }',
            "mask 'rot13'",
        ),
        ('name = "x"\nsubject = "role:partner"\nextra = 1', "extra"),
        ("name = ", "not valid TOML"),
    ]:
        with pytest.raises(PolicyError) as refused:
            parse_document(source)
        assert message in str(refused.value)
