"""Safety: the Open-NSFW score (tagging.core.safety) of the working image.

The model is imported and built on the first image a worker analyses, not when the
app loads (see content.py).
"""
from __future__ import annotations

from ..tags import Contribution, Tag
from ..vocabulary import TagSource
from .decode import DecodedImage

TAG_SOURCE = TagSource.SAFETY
#: Default of the app setting TAGGING_NSFW_THRESHOLD: Yahoo's "unsafe" bound.
DEFAULT_NSFW_THRESHOLD = 0.8


class SafetyAnalyser:
    """Fact ``nsfw_score`` (0..1, rounded to 3) always; tag ``nsfw`` (source
    ``safety``, confidence = the score) when the score >= ``threshold`` (0..1)."""

    name = TAG_SOURCE

    def __init__(self, threshold: float = DEFAULT_NSFW_THRESHOLD) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"nsfw threshold {threshold} is outside 0..1")
        self.threshold = float(threshold)

    def analyse(self, image: DecodedImage) -> Contribution:
        from ..safety import get_nsfw_classifier

        score = get_nsfw_classifier().score(image.working)
        tags = [Tag("nsfw", score, TAG_SOURCE)] if score >= self.threshold else []
        return Contribution(tags=tags, facts={"nsfw_score": round(score, 3)})
