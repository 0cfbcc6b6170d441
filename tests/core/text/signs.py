"""Signs rendered with Pillow onto the real fixture photos (for tests and the bench).

Each sign is a filled rounded rectangle with one or more lines of text in a Debian
font (DejaVu / Liberation, present wherever Chromium's tests run), drawn on a fixture
photo enlarged 4x so the sign's letters are about as large, relative to the photo,
as a street sign's in a phone picture.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

PHOTOS = Path(__file__).resolve().parents[2] / "fixtures" / "photos"
FONTS = Path("/usr/share/fonts/truetype")


@dataclass(frozen=True)
class Sign:
    name: str
    photo: str
    lines: tuple[str, ...]
    box: tuple[float, float, float, float]  # left, top, right, bottom as fractions of the photo
    fill: tuple[int, int, int]
    ink: tuple[int, int, int]
    font: str
    expected: tuple[str, ...]  # searchable words the reader must find


SIGNS = [
    Sign("no-cats", "chelsea.png", ("NO CATS", "ALLOWED"), (0.05, 0.05, 0.45, 0.30), (200, 20, 20), (255, 255, 255),
         "dejavu/DejaVuSans-Bold.ttf", ("no", "cats", "allowed")),
    Sign("espresso", "coffee.png", ("Espresso Bar", "open daily"), (0.55, 0.04, 0.97, 0.24), (250, 245, 230),
         (40, 30, 20), "liberation/LiberationSerif-Bold.ttf", ("espresso", "bar", "open", "daily")),
    Sign("exit", "rocket.jpg", ("EXIT 25", "Main Street"), (0.05, 0.6, 0.40, 0.85), (0, 110, 60), (255, 255, 255),
         "liberation/LiberationSans-Bold.ttf", ("exit", "25", "main", "street")),
    Sign("parking", "motorcycle_left.jpg", ("PARKING",), (0.6, 0.05, 0.9, 0.16), (20, 60, 160), (255, 255, 255),
         "dejavu/DejaVuSans-Bold.ttf", ("parking",)),
]  # fmt: skip


def render(sign: Sign, scale: int = 4) -> Image.Image:
    """The photo, ``scale`` times larger, with the sign drawn on it (RGB)."""
    image = Image.open(PHOTOS / sign.photo).convert("RGB")
    image = image.resize((image.width * scale, image.height * scale), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    x0, y0 = sign.box[0] * image.width, sign.box[1] * image.height
    x1, y1 = sign.box[2] * image.width, sign.box[3] * image.height
    draw.rounded_rectangle((x0, y0, x1, y1), radius=int((y1 - y0) / 10), fill=sign.fill, outline=sign.ink, width=6)
    step = (y1 - y0) / (len(sign.lines) + 0.6)
    font = ImageFont.truetype(str(FONTS / sign.font), int(step * 0.75))
    for i, text in enumerate(sign.lines):
        width = draw.textlength(text, font=font)
        draw.text(((x0 + x1 - width) / 2, y0 + step * (0.3 + i)), text, font=font, fill=sign.ink)
    return image


def render_jpeg(sign: Sign, scale: int = 4) -> bytes:
    out = io.BytesIO()
    render(sign, scale).save(out, "JPEG", quality=90)
    return out.getvalue()
