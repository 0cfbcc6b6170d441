"""Text in the picture: tags ``text``/``document`` (source ``text``) and the fact ``text``.

The reader (tagging.core.text: onnxruntime and the weights) is imported and built on
the first image a worker analyses, never when the app loads.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..tags import Contribution, Tag
from ..vocabulary import TagSource
from .decode import DecodedImage

if TYPE_CHECKING:
    from ..text import Line, Reading, TextBox

TAG_SOURCE = TagSource.TEXT
# `document`: text dominates the photo. At least DOCUMENT_MIN_LINES lines were read and
# the union of their boxes, with the boxes left unread once MAX_WORDS words were read,
# covers at least this share of the image (a page, a screenshot, a poster); a sign or a
# name tag in a scene does not (calibrated, README).
DOCUMENT_COVERAGE = 0.15
DOCUMENT_MIN_LINES = 3


def coverage(boxes: Sequence[TextBox], width: int, height: int) -> float:
    """Share (0..1) of a width x height image covered by the union of ``boxes``."""
    import numpy as np

    mask = np.zeros((height, width), dtype=bool)
    for box in boxes:
        mask[box.top : box.bottom, box.left : box.right] = True
    return float(mask.mean()) if mask.size else 0.0


def text_boxes(reading: Reading) -> list[TextBox]:
    """The boxes that hold text: the lines read, and the boxes never recognised because
    reading stopped at MAX_WORDS (boxes recognised as no text are left out)."""
    return [line.box for line in reading.lines] + list(reading.boxes[reading.recognised :])


def _fraction_box(line: Line, width: int, height: int) -> list[float]:
    box = line.box
    return [
        round(box.left / width, 4),
        round(box.top / height, 4),
        round(box.width / width, 4),
        round(box.height / height, 4),
    ]


class TextAnalyser:
    """Reads text from the working image. Facts ``text`` = {"lines": [{"text", "box"
    [l, t, w, h] fractions of the oriented image, "score"}], "words": [...]} (absent
    when nothing was read). Tags ``text`` (confidence: the best line's score) when a
    searchable word was read; ``document`` (confidence: the lines' mean score) when
    >= DOCUMENT_MIN_LINES lines were read and :func:`text_boxes` cover >=
    DOCUMENT_COVERAGE of the image."""

    name = "text"

    def analyse(self, image: DecodedImage) -> Contribution:
        from ..text import MAX_WORDS, get_reader, searchable_words

        working = image.working
        reading = get_reader().read(working)
        words = searchable_words([line.text for line in reading.lines], MAX_WORDS)
        if not words:
            return Contribution()
        width, height = working.size
        facts: dict[str, Any] = {
            "text": {
                "lines": [
                    {"text": line.text, "box": _fraction_box(line, width, height), "score": round(line.score, 3)}
                    for line in reading.lines
                ],
                "words": words,
            }
        }
        scores = [line.score for line in reading.lines]
        tags = [Tag("text", min(1.0, max(scores)), TAG_SOURCE)]
        if len(reading.lines) >= DOCUMENT_MIN_LINES and (
            coverage(text_boxes(reading), width, height) >= DOCUMENT_COVERAGE
        ):
            tags.append(Tag("document", min(1.0, sum(scores) / len(scores)), TAG_SOURCE))
        return Contribution(tags=tags, facts=facts)
