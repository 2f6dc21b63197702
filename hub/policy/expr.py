"""Row-filter expressions: a small, safe language, parsed with ``ast`` and never evaluated.

Allowed: comparisons (``== != < <= > >= in``, ``not in``), ``and`` / ``or`` / ``not``,
literals (strings, numbers, ``True`` / ``False`` / ``None``, lists or tuples of literals),
and exactly two kinds of names — ``principal.<attr>`` and ``record.<attr>``. Anything else
(calls, subscripts, attribute chains, lambdas, comprehensions, operators, dunder names, bare
names) is refused with an ``ExpressionError`` naming what was found. The accepted tree is
compiled into plain Python closures over the two attribute maps; the text is never handed to
``eval`` or ``compile``.

    record.street == principal.street and record.population > 1000
    principal.department in record.departments or principal.role == "operator"
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

MAX_LENGTH = 1000
MAX_NODES = 200
_ATTR = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

Scope = tuple[Mapping[str, Any], Mapping[str, Any]]  # (principal attrs, record attrs)
Evaluator = Callable[[Mapping[str, Any], Mapping[str, Any]], Any]


class ExpressionError(ValueError):
    """A refused filter expression; the message says what and where, without echoing much."""


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: b is not None and a in b,
    ast.NotIn: lambda a, b: b is None or a not in b,
}


def _where(node: ast.AST) -> str:
    return f"at column {getattr(node, 'col_offset', 0) + 1}"


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, str | int | float | bool)
    ):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return tuple(_literal(item) for item in node.elts)
    raise ExpressionError(f"only literals may appear in a list ({_where(node)})")


def _compile(node: ast.AST) -> Evaluator:
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda p, r: all(part(p, r) for part in parts)
        return lambda p, r: any(part(p, r) for part in parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _compile(node.operand)
        return lambda p, r: not inner(p, r)
    if isinstance(node, ast.Compare):
        left = _compile(node.left)
        steps = []
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            compare = _COMPARE.get(type(op))
            if compare is None:  # pragma: no cover - every cmpop is listed except is/is not
                raise ExpressionError(f"comparison {type(op).__name__} is not allowed")
            steps.append((compare, _compile(comparator)))

        def comparison(p: Mapping[str, Any], r: Mapping[str, Any]) -> bool:
            a = left(p, r)
            for compare, right in steps:
                b = right(p, r)
                try:
                    if not compare(a, b):
                        return False
                except TypeError:  # e.g. "a" < 3, or None < 3: not a match
                    return False
                a = b
            return True

        return comparison
    if isinstance(node, ast.Attribute):
        owner = node.value
        if not isinstance(owner, ast.Name) or owner.id not in ("principal", "record"):
            raise ExpressionError(
                f"only principal.<attr> and record.<attr> may be read ({_where(node)})"
            )
        attr = node.attr
        if not _ATTR.match(attr):
            raise ExpressionError(f"attribute name {attr[:40]!r} is not allowed ({_where(node)})")
        if owner.id == "principal":
            return lambda p, r: p.get(attr)
        return lambda p, r: r.get(attr)
    if isinstance(node, ast.Constant | ast.List | ast.Tuple):
        value = _literal(node)
        return lambda p, r: value
    if isinstance(node, ast.Name):
        raise ExpressionError(
            f"bare name {node.id[:40]!r}: use principal.<attr> or record.<attr> ({_where(node)})"
        )
    if isinstance(node, ast.Call):
        raise ExpressionError(f"function calls are not allowed ({_where(node)})")
    if isinstance(node, ast.Subscript):
        raise ExpressionError(f"subscripts are not allowed ({_where(node)})")
    if isinstance(node, ast.Lambda):
        raise ExpressionError(f"lambdas are not allowed ({_where(node)})")
    raise ExpressionError(f"{type(node).__name__} is not allowed in a filter ({_where(node)})")


class RowFilter:
    """A compiled row filter: ``matches(principal_attrs, record_attrs) -> bool``."""

    def __init__(self, text: str, evaluate: Evaluator) -> None:
        self.text = text
        self._evaluate = evaluate

    def matches(self, principal: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
        return bool(self._evaluate(principal, record))

    def __repr__(self) -> str:
        return f"RowFilter({self.text!r})"


def parse_filter(text: str) -> RowFilter:
    """Compile a row-filter expression, or raise ExpressionError saying why not."""
    if not isinstance(text, str):
        raise ExpressionError("a row filter must be a string")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"a row filter is limited to {MAX_LENGTH} characters")
    if "__" in text:
        raise ExpressionError("double underscores (dunder names) are not allowed")
    stripped = text.strip()
    if not stripped:
        raise ExpressionError("a row filter must not be empty")
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a valid expression (column {exc.offset or 0})") from None
    except ValueError:  # e.g. NUL bytes
        raise ExpressionError("not a valid expression") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ExpressionError(f"a row filter is limited to {MAX_NODES} syntax nodes")
    return RowFilter(stripped, _compile(tree.body))
