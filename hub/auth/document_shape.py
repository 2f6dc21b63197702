"""The shape of a GraphQL document, measured before anything walks it as a tree.

A few hundred bytes of fragments that each spread the next one twice expand to 2^n
selections; every check that expands fragments (depth, aliases, cost, graphql-core's
validation) then works for minutes on the event loop. So, first and in time linear in the
document: the fragments and spreads it holds, and the selections it would have once its
fragments are expanded — each fragment measured once and the sum capped, so the count itself
never expands anything. A document over a cap is refused before any other check runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)


@dataclass(frozen=True)
class ShapeLimits:
    max_fragments: int
    max_spreads: int
    max_selections: int


def _spreads(document: DocumentNode) -> int:
    count = 0
    stack: list[SelectionSetNode] = [
        d.selection_set
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                count += 1
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                stack.append(selection.selection_set)
    return count


class _Expansion:
    """Selections once fragments are expanded, each fragment counted once and reused; the
    count stops at ``cap`` (a cycle counts nothing more: validation refuses it)."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode], cap: int) -> None:
        self.fragments = fragments
        self.cap = cap
        self.sizes: dict[str, int] = {}
        self.open: set[str] = set()

    def size(self, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            total += 1
            if isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
            elif isinstance(selection, FieldNode | InlineFragmentNode):
                total += self.size(selection.selection_set)
            if total > self.cap:
                return total
        return total

    def fragment(self, name: str) -> int:
        known = self.sizes.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self.open:
            return 0
        self.open.add(name)
        try:
            size = min(self.size(definition.selection_set), self.cap + 1)
        finally:
            self.open.discard(name)
        self.sizes[name] = size
        return size


def expanded_selections(document: DocumentNode, cap: int) -> int:
    """Selections of all the document's operations with fragments expanded (at most cap + 1)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    expansion = _Expansion(fragments, cap)
    total = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            total += expansion.size(definition.selection_set)
            if total > cap:
                return cap + 1
    return total


def shape_problem(document: DocumentNode, limits: ShapeLimits) -> str | None:
    """Why the document is refused before it is walked as a tree, or None."""
    fragments = sum(isinstance(d, FragmentDefinitionNode) for d in document.definitions)
    if fragments > limits.max_fragments:
        return f"{fragments} fragments in one document; at most {limits.max_fragments}"
    spreads = _spreads(document)
    if spreads > limits.max_spreads:
        return f"{spreads} fragment spreads in one document; at most {limits.max_spreads}"
    if expanded_selections(document, limits.max_selections) > limits.max_selections:
        return (
            f"more than {limits.max_selections} selections once the document's fragments "
            "are expanded"
        )
    return None
