"""Facts read from the image itself: format, size, orientation."""
from __future__ import annotations

from ..tags import Contribution, Tag
from ..vocabulary import TagSource
from .decode import DecodedImage

SQUARE_TOLERANCE = 0.05  # |w - h| / max(w, h) at or below this is "square"
PANORAMA_RATIO = 2.0  # long side / short side at or above this is a panorama


def orientation_of(width: int, height: int) -> str:
    """"landscape", "portrait" or "square" for a size already EXIF-oriented."""
    if abs(width - height) / max(width, height) <= SQUARE_TOLERANCE:
        return "square"
    return "landscape" if width > height else "portrait"


class FactsAnalyser:
    """Format, dimensions (after EXIF orientation), megapixels and orientation as facts;
    the only tag is ``panorama``. Orientation is not a tag: "landscape" and "portrait"
    are what people search for as content (scenery, a person), so the words stay in
    ``facts["orientation"]``."""

    name = TagSource.FACTS

    def analyse(self, image: DecodedImage) -> Contribution:
        orientation = orientation_of(image.width, image.height)
        tags = []
        if max(image.width, image.height) / min(image.width, image.height) >= PANORAMA_RATIO:
            tags.append(Tag("panorama", 1.0, self.name))
        return Contribution(
            tags=tags,
            facts={
                "format": image.format.lower(),
                "mime_type": image.mime_type,
                "width": image.width,
                "height": image.height,
                "megapixels": round(image.width * image.height / 1_000_000, 2),
                "orientation": orientation,
                "exif_orientation": image.exif_orientation,
                "mode": image.mode,
            },
        )
