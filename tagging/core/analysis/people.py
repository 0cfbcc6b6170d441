"""People: faces found by MTCNN (tagging.core.people) in the working image.

The detector is imported and built on the first image a worker analyses, not when
the app loads (see content.py).
"""
from __future__ import annotations

from typing import Any

from ..tags import Contribution, Tag
from ..vocabulary import TagSource
from .decode import DecodedImage

TAG_SOURCE = TagSource.FACES
MAX_FACES_STORED = 20
#: (tag, faces needed): the tag's confidence is the score of the n-th best face, so
#: "people" is as sure as the second face is.
FACE_TAGS = (("person", 1), ("people", 2), ("group", 3))


class PeopleAnalyser:
    """Tags ``person`` (>= 1 face), ``people`` (>= 2), ``group`` (>= 3), source
    ``faces``; facts ``faces`` (the :data:`MAX_FACES_STORED` most confident, each
    ``{"box": [left, top, width, height] as fractions 0..1 of the oriented image,
    rounded to 4 places, "score": 0..1 rounded to 3}``) and ``face_count`` (all
    faces found). Only faces the detector is confident of count (see
    tagging.core.people.detector.DEFAULT_THRESHOLDS)."""

    name = TAG_SOURCE

    def analyse(self, image: DecodedImage) -> Contribution:
        from ..people import get_face_detector

        working = image.working
        faces = get_face_detector().detect(working)
        stored: list[dict[str, Any]] = [
            {
                "box": [round(v, 4) for v in face.fractions(working.width, working.height)],
                "score": round(face.score, 3),
            }
            for face in faces[:MAX_FACES_STORED]
        ]
        tags = [Tag(name, faces[n - 1].score, TAG_SOURCE) for name, n in FACE_TAGS if len(faces) >= n]
        return Contribution(tags=tags, facts={"faces": stored, "face_count": len(faces)})
