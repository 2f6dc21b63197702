"""Chinese word segmentation for search: jieba's search mode, which also emits the shorter
words inside long ones (有限公司 → 有限, 公司, 有限公司), so a query for any of them matches."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

_WORD = re.compile(r"\w", re.UNICODE)
_CJK_GAP = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef]) (?=[\u3000-\u9fff\uff00-\uffef])")


@cache
def _jieba() -> Any:  # jieba ships no types (nor has a stub package)
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _keep(words: Iterable[str]) -> list[str]:
    return [t.lower() for t in words if t.strip() and _WORD.search(t)]


def tokens(text: str) -> list[str]:
    """Search tokens of a text (search mode: words and the words inside them), lower-cased."""
    return _keep(_jieba().cut_for_search(text))


def words_of(text: str) -> list[str]:
    """The text cut into its words in reading order, punctuation and spaces kept (joined
    they give the text back)."""
    return [str(w) for w in _jieba().cut(text)]


def segmented(text: str) -> tuple[str, str]:
    """The text as the index stores it: its words in reading order (for snippets), and the
    extra shorter words search mode finds inside them (so 有限 finds 有限公司)."""
    words = _keep(_jieba().cut(text))
    inner = set(tokens(text)) - set(words)
    return " ".join(words), " ".join(sorted(inner))


def unsegment(text: str) -> str:
    """Undo the spaces segmentation put between Chinese characters (for snippets)."""
    return _CJK_GAP.sub("", text)
