from tagging.core.analysis import decode
from tagging.core.analysis.exif import ExifAnalyser
from tests.support import images


def test_camera_lens_and_taken_at_facts():
    contribution = ExifAnalyser().analyse(decode(images.with_exif(gps=None), 10**9))
    assert contribution.facts == {
        "camera_make": "Canon",
        "camera_model": "Canon EOS R5",
        "lens": "RF24-105mm F4 L IS USM",
        "taken_at": "2024-05-01T12:30:00",
    }
    assert contribution.tags == []


def test_gps_gives_geotagged_but_coordinates_only_when_allowed():
    decoded = decode(images.with_exif(gps=(52.5, -13.25)), 10**9)
    private = ExifAnalyser(store_gps=False).analyse(decoded)
    assert private.facts["geotagged"] is True and "gps" not in private.facts
    assert [(t.name, t.source) for t in private.tags] == [("geotagged", "exif")]
    shared = ExifAnalyser(store_gps=True).analyse(decoded)
    assert shared.facts["gps"]["latitude"] == 52.5
    assert abs(shared.facts["gps"]["longitude"] + 13.25) < 1e-4


def test_image_without_exif_contributes_nothing():
    assert ExifAnalyser().analyse(decode(images.solid(fmt="PNG"), 10**9)).facts == {}
