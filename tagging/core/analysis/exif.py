"""Facts from EXIF metadata: camera, lens, when it was taken, whether it is geotagged.

GPS coordinates are personal data: they are stored only when the analyser is built
with ``store_gps=True`` (setting TAGGING_STORE_GPS); otherwise only the fact that the
photo is geotagged is kept.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from PIL import ExifTags

from ..tags import Contribution, Tag
from ..vocabulary import TagSource
from .decode import DecodedImage

MAX_TEXT = 128  # characters kept of any EXIF text field
_IFD = ExifTags.IFD
_TAG = ExifTags.Base
_GPS = ExifTags.GPS


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    cleaned = "".join(c for c in value if c.isprintable()).strip()
    return cleaned[:MAX_TEXT] or None


def _taken_at(value: Any) -> str | None:
    """EXIF "YYYY:MM:DD HH:MM:SS" -> ISO 8601 local time (EXIF has no zone), or None."""
    text = _text(value)
    if not text:
        return None
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


def _degrees(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = d + m / 60 + s / 3600
    if _text(ref) in ("S", "W"):
        result = -result
    return round(result, 6)


class ExifAnalyser:
    """Camera make/model, lens, taken-at time; the ``geotagged`` tag."""

    name = TagSource.EXIF

    def __init__(self, store_gps: bool = False) -> None:
        self._store_gps = store_gps

    def analyse(self, image: DecodedImage) -> Contribution:
        exif = image.exif
        if not exif:
            return Contribution()
        details = exif.get_ifd(_IFD.Exif)
        facts: dict[str, Any] = {
            "camera_make": _text(exif.get(_TAG.Make)),
            "camera_model": _text(exif.get(_TAG.Model)),
            "lens": _text(details.get(_TAG.LensModel)) or _text(details.get(_TAG.LensMake)),
            "taken_at": _taken_at(details.get(_TAG.DateTimeOriginal)) or _taken_at(exif.get(_TAG.DateTime)),
        }
        facts = {k: v for k, v in facts.items() if v is not None}
        tags: list[Tag] = []
        gps = exif.get_ifd(_IFD.GPSInfo)
        latitude = _degrees(gps.get(_GPS.GPSLatitude), gps.get(_GPS.GPSLatitudeRef))
        longitude = _degrees(gps.get(_GPS.GPSLongitude), gps.get(_GPS.GPSLongitudeRef))
        if latitude is not None and longitude is not None:
            facts["geotagged"] = True
            tags.append(Tag("geotagged", 1.0, self.name))
            if self._store_gps:
                facts["gps"] = {"latitude": latitude, "longitude": longitude}
        return Contribution(tags=tags, facts=facts)
