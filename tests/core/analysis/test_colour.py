import pytest

from tagging.core.analysis import decode
from tagging.core.analysis.colour import ColourAnalyser, colour_name
from tests.support import images


@pytest.mark.parametrize(
    ("rgb", "name"),
    [((0, 0, 0), "black"), ((255, 255, 255), "white"), ((128, 128, 128), "grey"), ((220, 20, 30), "red"),
     ((255, 140, 0), "orange"), ((250, 230, 20), "yellow"), ((30, 160, 40), "green"), ((20, 200, 210), "cyan"),
     ((30, 60, 220), "blue"), ((130, 40, 200), "purple"), ((240, 100, 200), "pink"), ((120, 70, 20), "brown")],
)  # fmt: skip
def test_colour_names(rgb, name):
    assert colour_name(rgb) == name


def test_two_colour_image_gets_both_tags_with_their_share():
    contribution = ColourAnalyser().analyse(decode(images.halves((230, 10, 10), (10, 10, 230)), 10**9))
    tags = {t.name: t for t in contribution.tags}
    assert set(tags) >= {"red", "blue"}
    assert tags["red"].confidence == pytest.approx(0.5, abs=0.1)
    assert all(t.source == "colour" for t in contribution.tags)
    assert {c["name"] for c in contribution.facts["dominant_colours"]} >= {"red", "blue"}


def test_brightness_fact_and_dark_bright_tags():
    dark = ColourAnalyser().analyse(decode(images.solid((10, 10, 10)), 10**9))
    bright = ColourAnalyser().analyse(decode(images.solid((250, 250, 250)), 10**9))
    assert dark.facts["brightness"] < 0.1 and "dark" in {t.name for t in dark.tags}
    assert bright.facts["brightness"] > 0.9 and "bright" in {t.name for t in bright.tags}
