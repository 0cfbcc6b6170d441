"""Searchable words: what the text index keeps of an image's read text, and how a
``?text=`` query is read. Both fold through :func:`~tagging.core.tags.normalise_tag`,
so a query matches what was indexed whatever its case or punctuation."""
from __future__ import annotations

from typing import Any

from ..core.tags import is_tag_name, normalise_tag
from ..core.vocabulary import ErrorCode, ErrorKind
from .errors import ServiceError

MIN_WORD_LENGTH = 2
MAX_IMAGE_WORDS = 50  # per image, as the text analyser's contract caps facts.text.words


def _fold(text: str) -> list[str]:
    """Lowercase single words of [a-z0-9-], at least 2 characters, in order."""
    folded = (word for piece in text.split() for word in normalise_tag(piece).split(" "))
    return [w for w in folded if len(w) >= MIN_WORD_LENGTH and is_tag_name(w)]


def indexed_words(facts: dict[str, Any]) -> list[str]:
    """The distinct words of ``facts["text"]["words"]`` to index (folded again, so a
    malformed fact never makes a bad row key), at most 50, first seen first; [] when the
    image has no read text."""
    text = facts.get("text")
    raw = text.get("words") if isinstance(text, dict) else None
    if not isinstance(raw, list):
        return []
    words: dict[str, None] = {}
    for item in raw:
        if isinstance(item, str):
            for word in _fold(item):
                words.setdefault(word, None)
    return list(words)[:MAX_IMAGE_WORDS]


def query_words(raw: str) -> list[str]:
    """The distinct words of a ``?text=`` query (all must match); raises ServiceError
    400 ``invalid_text`` when none is usable. Single letters are left out (they are
    never indexed). More than 50 words match no image (none has more), not an error."""
    words = list(dict.fromkeys(_fold(raw)))
    if not words:
        raise ServiceError(
            ErrorKind.INVALID,
            ErrorCode.INVALID_TEXT,
            "text must hold a word of at least 2 letters or digits, e.g. ?text=exit",
        )
    return words
