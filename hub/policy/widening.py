"""Whether a policy version widens access, compared with the published version it replaces.

Widening is anything that could let some principal see a row, a field or an unmasked value it
could not see before, or that lifts a limit: a new policy (its subject had none), a new
subject, a higher clearance, changed principal attributes (row filters read them), a type
newly readable, rows instead of counts, a field added or revealed, a mask removed or
weakened, a row filter dropped or changed into one not provably narrower, a purpose accepted
or no longer required, a rate limit raised or lifted, a counts-only min_group lowered; on the
write side, a step added (or ``*``) or the write row filter lifted or changed into one not
provably narrower. When in doubt: widening. Each reason is a short sentence naming the place,
shown to the stewards and kept in the audit.
"""

from __future__ import annotations

import ast

from hub.policy.model import ALL, LEVELS, PolicyDocument, TypeRule, WriteRule

STRONGEST_MASK = "redact"


def widening(before: PolicyDocument | None, after: PolicyDocument) -> list[str]:
    """Why ``after`` widens access over ``before`` (the published version; None: the policy
    has none). Empty: it keeps or narrows everyone's access and may be published at once."""
    if before is None:
        return [f"new policy for {after.subject}"]
    reasons: list[str] = []
    if after.subject != before.subject:
        reasons.append(f"subject changes from {before.subject} to {after.subject}")
    if LEVELS[after.clearance] > LEVELS[before.clearance]:
        reasons.append(f"clearance rises from {before.clearance} to {after.clearance}")
    if after.principals != before.principals:
        reasons.append("principal attributes change (row filters read them)")
    for type_name in sorted(set(before.types) | set(after.types) | {ALL}):
        where = "other types" if type_name == ALL else type_name
        found = _rule_widening(before.rule(type_name), after.rule(type_name))
        reasons.extend(f"{where}: {reason}" for reason in found)
    return reasons


def _rule_widening(before: TypeRule | None, after: TypeRule | None) -> list[str]:
    if after is None:
        return []
    if before is None:
        return ["becomes readable"]
    reasons: list[str] = []
    if before.aggregate_only and not after.aggregate_only:
        reasons.append("rows served where counts only were")
    if not after.aggregate_only:  # counts only: fields and masks are never served
        reasons.extend(_field_widening(before, after))
    elif before.aggregate_only and after.min_group < before.min_group:
        # smaller groups of counts-only figures: closer to single rows (a counts-only
        # min_group lowered widens)
        reasons.append(f"min_group lowered from {before.min_group} to {after.min_group}")
    if not _filter_narrows(before.row_filter, after.row_filter):
        reasons.append("row filter lifted" if after.row_filter is None else "row filter changed")
    if before.purpose and (not after.purpose or set(after.purpose) - set(before.purpose)):
        reasons.append("purpose requirement lifted or widened")
    if before.rate_limit is not None and (
        after.rate_limit is None or after.rate_limit > before.rate_limit
    ):
        reasons.append("rate limit raised or lifted")
    reasons.extend(_write_widening(before.write, after.write))
    return reasons


def _write_widening(before: WriteRule | None, after: WriteRule | None) -> list[str]:
    """The write side: steps that may now be taken, rows that may now be acted on."""
    if after is None or not after.steps:
        return []
    if before is None or not before.steps:
        return [f"steps may be taken: {', '.join(after.steps)}"]
    reasons: list[str] = []
    if ALL not in before.steps:
        added = sorted(set(after.steps) - set(before.steps))
        if added:
            reasons.append(f"steps added: {', '.join(added)}")
    if not _filter_narrows(before.row_filter, after.row_filter):
        lifted = after.row_filter is None
        reasons.append("write row filter lifted" if lifted else "write row filter changed")
    return reasons


def _field_widening(before: TypeRule, after: TypeRule) -> list[str]:
    reasons: list[str] = []
    if ALL not in before.fields:
        added = sorted(set(after.fields) - set(before.fields))
        if added:
            reasons.append(f"fields added: {', '.join(added)}")
    revealed = sorted(set(after.reveal) - set(before.reveal))
    if revealed:
        reasons.append(f"revealed: {', '.join(revealed)}")
    weakened = sorted(
        name
        for name, kind in before.masks.items()
        if after.masks.get(name) not in (kind, STRONGEST_MASK)
    )
    if weakened:
        reasons.append(f"masks removed or weakened: {', '.join(weakened)}")
    return reasons


def _filter_narrows(before: str | None, after: str | None) -> bool:
    """True when every row ``after`` lets through, ``before`` let through too: no filter
    before, or ``after`` keeps every condition of ``before`` (``and``-ed with more)."""
    if before is None:
        return True
    if after is None:
        return False
    return _conjuncts(before) <= _conjuncts(after)


def _conjuncts(text: str) -> set[str]:
    """The ``and``-ed conditions of a filter, each in a canonical form (spacing and
    parentheses do not matter)."""
    tree = ast.parse(text.strip(), mode="eval").body
    parts: list[ast.expr] = [tree]
    found: set[str] = set()
    while parts:
        node = parts.pop()
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
            parts.extend(node.values)
        else:
            found.add(ast.dump(node))
    return found
