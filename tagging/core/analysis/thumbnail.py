"""Thumbnail from the decoded image's preview (never from a second decode)."""
from __future__ import annotations

import io

from .decode import PREVIEW_SIDE, DecodedImage

THUMBNAIL_SIDE = PREVIEW_SIDE  # px, longest side
THUMBNAIL_QUALITY = 82
THUMBNAIL_MIME = "image/jpeg"


def make_thumbnail(image: DecodedImage) -> bytes:
    """JPEG bytes of the image, longest side <= 256 px."""
    out = io.BytesIO()
    image.preview.save(out, "JPEG", quality=THUMBNAIL_QUALITY)
    return out.getvalue()
