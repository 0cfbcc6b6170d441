"""Searchable words from read lines (the contract of facts["text"]["words"])."""
from __future__ import annotations

from collections.abc import Iterable

from ..tags import normalise_tag

MIN_WORD_LENGTH = 2


def searchable_words(lines: Iterable[str], limit: int = 50) -> list[str]:
    """The distinct words of ``lines`` in reading order: each line split on spaces,
    each piece passed through :func:`normalise_tag` (lowercase, [a-z0-9] with inner
    dashes) and split again on the spaces that leaves, kept when at least
    MIN_WORD_LENGTH characters long; at most ``limit``."""
    words: list[str] = []
    seen: set[str] = set()
    for line in lines:
        for piece in line.split():
            for word in normalise_tag(piece).split(" "):
                if len(word) >= MIN_WORD_LENGTH and word not in seen:
                    seen.add(word)
                    words.append(word)
                    if len(words) >= limit:
                        return words
    return words
