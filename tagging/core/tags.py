"""The tag model shared by every analyser.

A tag is a searchable word with the confidence of whoever produced it and the name
of that producer (its *source*), in the spirit of PhotoPrism's labels: a tag from the
content classifier and a tag from EXIF can be told apart and ranked.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, TypedDict

_TAG_NAME = re.compile(r"^[a-z0-9]+(?:[ -][a-z0-9]+)*$")
MAX_TAG_LENGTH = 64


def normalise_tag(text: str) -> str:
    """Fold free text to the tag alphabet: lowercase words of [a-z0-9] joined by
    single spaces or dashes. Returns "" when nothing usable is left."""
    folded = re.sub(r"[^a-z0-9 -]+", " ", text.strip().lower())
    folded = re.sub(r"\s+", " ", folded)
    # A run of separators holding a dash is one dash ("a - b", "a -b" -> "a-b"), so the
    # result is always a tag name or "" (found by fuzzing ?tag=).
    folded = re.sub(r"[ -]*-[ -]*", "-", folded).strip(" -")
    return folded[:MAX_TAG_LENGTH].strip(" -")


def is_tag_name(text: str) -> bool:
    """True when ``text`` is already a normalised tag name."""
    return len(text) <= MAX_TAG_LENGTH and bool(_TAG_NAME.match(text))


class TagDict(TypedDict):
    """A tag as stored (JSON in table rows) and sent (the API's ``tags``)."""

    name: str
    confidence: float
    source: str


@dataclass(frozen=True)
class Tag:
    """One searchable tag.

    name: normalised (see :func:`normalise_tag`).
    confidence: 0.0..1.0; facts computed exactly (format, orientation) use 1.0.
    source: who produced it, a :class:`~.vocabulary.TagSource` (tests use their own).
    """

    name: str
    confidence: float
    source: str

    def __post_init__(self) -> None:
        if not is_tag_name(self.name):
            raise ValueError(f"tag name {self.name!r} is not normalised; pass it through normalise_tag()")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} is outside 0..1")

    def to_dict(self) -> TagDict:
        return {"name": self.name, "confidence": round(self.confidence, 4), "source": self.source}

    @classmethod
    def from_dict(cls, data: TagDict | dict[str, Any]) -> Tag:
        return cls(str(data["name"]), float(data["confidence"]), str(data["source"]))


@dataclass
class Contribution:
    """What one analyser adds: tags, and facts (JSON-serialisable values)."""

    tags: list[Tag] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


def merge_tags(tags: list[Tag]) -> list[Tag]:
    """One tag per name, keeping the most confident; sorted by confidence, then name."""
    best: dict[str, Tag] = {}
    for tag in tags:
        current = best.get(tag.name)
        if current is None or tag.confidence > current.confidence:
            best[tag.name] = tag
    return sorted(best.values(), key=lambda t: (-t.confidence, t.name))
