"""Real images made with Pillow, for tests."""
from __future__ import annotations

import io

from PIL import Image


def solid(colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 48), fmt: str = "JPEG", **save) -> bytes:
    """An image of one colour in ``fmt`` (any Pillow format name)."""
    mode = "RGBA" if fmt in ("PNG", "WEBP") and save.pop("alpha", False) else "RGB"
    image = Image.new(mode, size, colour + ((128,) if mode == "RGBA" else ()))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def halves(left: tuple[int, int, int], right: tuple[int, int, int], size: tuple[int, int] = (80, 40)) -> bytes:
    """A PNG whose left half is ``left`` and right half ``right``."""
    image = Image.new("RGB", size, left)
    image.paste(Image.new("RGB", (size[0] // 2, size[1]), right), (size[0] // 2, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def with_orientation(orientation: int, size: tuple[int, int] = (60, 30)) -> bytes:
    """A JPEG stored ``size`` wide/high whose EXIF says to rotate it (6 = 90° CW)."""
    image = Image.new("RGB", size, (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()
