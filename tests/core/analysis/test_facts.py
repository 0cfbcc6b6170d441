import pytest

from tagging.core.analysis import analyse, decode
from tagging.core.analysis.facts import FactsAnalyser, orientation_of
from tests.support import images


@pytest.mark.parametrize(
    ("size", "expected"),
    [((400, 300), "landscape"), ((300, 400), "portrait"), ((300, 300), "square"), ((300, 310), "square")],
)
def test_orientation(size, expected):
    assert orientation_of(*size) == expected


def test_facts_report_size_format_megapixels_and_tags():
    contribution = FactsAnalyser().analyse(decode(images.solid(size=(2000, 500), fmt="PNG"), 10**9))
    assert contribution.facts["width"] == 2000 and contribution.facts["height"] == 500
    assert contribution.facts["megapixels"] == 1.0 and contribution.facts["format"] == "png"
    assert contribution.facts["orientation"] == "landscape"
    assert {t.name for t in contribution.tags} == {"panorama"}


@pytest.mark.parametrize("size", [(400, 300), (300, 400), (300, 300)])
def test_orientation_is_a_fact_not_a_tag(size):
    contribution = FactsAnalyser().analyse(decode(images.solid(size=size, fmt="PNG"), 10**9))
    assert contribution.facts["orientation"] == orientation_of(*size)
    assert contribution.tags == []


def test_analyse_merges_contributions_and_makes_a_thumbnail():
    result = analyse(images.solid((20, 160, 40), (1200, 900)), 10**9)
    assert "green" in {t.name for t in result.tags} and result.facts["orientation"] == "landscape"
    assert result.facts["width"] == 1200 and "brightness" in result.facts
    from io import BytesIO
    from PIL import Image

    thumb = Image.open(BytesIO(result.thumbnail))
    assert thumb.format == "JPEG" and max(thumb.size) == 256 and thumb.size[0] > thumb.size[1]
    assert len(result.sha256) == 64
