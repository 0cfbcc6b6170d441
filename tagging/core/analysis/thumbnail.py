"""Thumbnail from the decoded image's preview (never from a second decode)."""
from __future__ import annotations

import io

from .decode import DecodedImage

THUMBNAIL_QUALITY = 82


def make_thumbnail(image: DecodedImage) -> bytes:
    """JPEG bytes of the image, longest side <= PREVIEW_SIDE (256) px."""
    out = io.BytesIO()
    image.preview.save(out, "JPEG", quality=THUMBNAIL_QUALITY)
    return out.getvalue()
