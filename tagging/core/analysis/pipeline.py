"""Run the analysers over one decoded image."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..tags import Contribution, Tag, merge_tags
from .colour import ColourAnalyser
from .content import ContentAnalyser
from .decode import DecodedImage, decode
from .exif import ExifAnalyser
from .facts import FactsAnalyser
from .fingerprint import content_hash, perceptual_hash
from .people import PeopleAnalyser
from .safety import DEFAULT_NSFW_THRESHOLD, SafetyAnalyser
from .text import TextAnalyser
from .thumbnail import make_thumbnail
from .traits import TraitsAnalyser

#: The version of what :func:`default_analysers` produce. Each tagged image records the
#: version that tagged it; bump it whenever an analyser's tags or facts change, so users
#: can re-tag images tagged by an older version (``POST /api/retags?outdated=true``).
ANALYSIS_VERSION: str = "1"


class Analyser(Protocol):
    """Contributes tags and facts about a decoded image. Must not decode again."""

    @property
    def name(self) -> str:
        """The source of its tags (a :class:`~tagging.core.vocabulary.TagSource`)."""
        ...

    def analyse(self, image: DecodedImage) -> Contribution: ...


@dataclass
class Analysis:
    """The result of analysing one image: merged tags, facts, a JPEG thumbnail and
    fingerprints (SHA-256 of the bytes, 64-bit pHash as hex)."""

    tags: list[Tag]
    facts: dict[str, Any]
    thumbnail: bytes
    sha256: str
    phash: str


def default_analysers(store_gps: bool = False, nsfw_threshold: float = DEFAULT_NSFW_THRESHOLD) -> list[Analyser]:
    """The analysers every image goes through, cheapest first."""
    return [
        FactsAnalyser(),
        ExifAnalyser(store_gps),
        TraitsAnalyser(),
        ColourAnalyser(),
        ContentAnalyser(),
        PeopleAnalyser(),
        SafetyAnalyser(nsfw_threshold),
        TextAnalyser(),
    ]


def analyse(data: bytes, max_pixels: int, analysers: Sequence[Analyser] | None = None) -> Analysis:
    """Decode ``data`` once and run every analyser on it. Raises UndecodableImage."""
    decoded = decode(data, max_pixels)
    tags: list[Tag] = []
    facts: dict[str, Any] = {}
    for analyser in default_analysers() if analysers is None else analysers:
        contribution = analyser.analyse(decoded)
        tags.extend(contribution.tags)
        facts.update(contribution.facts)
    return Analysis(
        tags=merge_tags(tags),
        facts=facts,
        thumbnail=make_thumbnail(decoded),
        sha256=content_hash(data),
        phash=perceptual_hash(decoded.preview),
    )
