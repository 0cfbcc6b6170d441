"""Thumbnail from the working image (never from a second decode)."""
from __future__ import annotations

import io

from PIL import Image

THUMBNAIL_SIDE = 256  # px, longest side
THUMBNAIL_QUALITY = 82
THUMBNAIL_MIME = "image/jpeg"


def make_thumbnail(working: Image.Image) -> bytes:
    """JPEG bytes, longest side <= 256 px, of an RGB working image."""
    thumb = working.copy()
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return out.getvalue()
