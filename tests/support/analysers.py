"""Test doubles of the text and face analysers (whose real ones are built elsewhere),
contributing ``text`` and ``faces`` facts in the analysers' contract format from what
the image itself carries, so the service's real path (tagging, indexing, search,
re-tagging, the page) can be tested with real bytes:

- EXIF ImageDescription (0x010E): the text "read" in the image (lines separated by
  ``|``), unless :attr:`ReadingDouble.override` says otherwise;
- EXIF Artist (0x013B): faces, ``left,top,width,height,score`` fractions separated by
  ``;``.
"""
from __future__ import annotations

import io

from PIL import Image

from tagging.core.analysis.decode import DecodedImage
from tagging.core.tags import Contribution, Tag, normalise_tag

DESCRIPTION, ARTIST = 0x010E, 0x013B


class ReadingDouble:
    """Reads ``text`` facts from EXIF ImageDescription. ``override``: text to read
    instead, whatever the image says (tests change it between runs to re-tag)."""

    name = "reading-double"

    def __init__(self) -> None:
        self.override: str | None = None

    def analyse(self, image: DecodedImage) -> Contribution:
        raw = self.override if self.override is not None else str(image.exif.get(DESCRIPTION, "") or "")
        lines = [line.strip() for line in raw.split("|") if line.strip()]
        if not lines:
            return Contribution()
        words: list[str] = []
        for line in lines:
            for piece in line.split():
                for word in normalise_tag(piece).split(" "):
                    if len(word) >= 2 and word not in words:
                        words.append(word)
        step = round(1 / (len(lines) + 1), 4)
        facts = {
            "text": {
                "lines": [{"text": line, "box": [0.1, round(step * i, 4), 0.8, 0.08], "score": 0.9}
                          for i, line in enumerate(lines, start=1)],
                "words": words[:50],
            }
        }  # fmt: skip
        return Contribution(tags=[Tag("text", 0.9, "text")], facts=facts)


class FacesDouble:
    """Reads ``faces`` facts from EXIF Artist."""

    name = "faces-double"

    def analyse(self, image: DecodedImage) -> Contribution:
        raw = str(image.exif.get(ARTIST, "") or "")
        faces = []
        for part in raw.split(";"):
            values = [float(v) for v in part.split(",") if v.strip()]
            if len(values) == 5:
                faces.append({"box": [round(v, 4) for v in values[:4]], "score": round(values[4], 3)})
        if not faces:
            return Contribution()
        faces.sort(key=lambda f: -f["score"])
        tags = [Tag("person", faces[0]["score"], "faces")]
        if len(faces) >= 2:
            tags.append(Tag("people", faces[1]["score"], "faces"))
        return Contribution(tags=tags, facts={"faces": faces[:20], "face_count": len(faces)})


def photo_with(text: str = "", faces: str = "", size: tuple[int, int] = (400, 300), colour=(90, 140, 200)) -> bytes:
    """A JPEG whose EXIF carries ``text`` (ImageDescription) and ``faces`` (Artist)."""
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    if text:
        exif[DESCRIPTION] = text
    if faces:
        exif[ARTIST] = faces
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()
