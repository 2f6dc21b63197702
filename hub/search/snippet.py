"""A snippet of a text the hub shows on a reader's behalf (a search hit whose text the policy
cut): the words around the first match, matches in [brackets], as the index's own snippets."""

from __future__ import annotations

from hub.search.segment import words_of

WINDOW = 12  # words, as the embedded index's snippet()
BEFORE = 3  # words kept before the first match


def snippet(text: str, query_words: list[str]) -> str:
    """``text``'s words around its first word among ``query_words`` (lower-cased search
    tokens), each match bracketed; the start of the text when none matches."""
    pieces = words_of(text)
    wanted = set(query_words)
    marks = [p.strip().lower() in wanted for p in pieces]
    first = marks.index(True) if True in marks else 0
    start = max(0, first - BEFORE)
    shown = [f"[{p}]" if m else p for p, m in zip(pieces, marks, strict=True)]
    window = shown[start : start + WINDOW]
    return ("…" if start else "") + "".join(window) + ("…" if start + WINDOW < len(shown) else "")
