"""PeopleAnalyser: the facts and tags of the contract (faces, face_count; person,
people, group from source "faces"), in the oriented image's fractions."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from tagging.core.analysis import analyse, default_analysers
from tagging.core.analysis.decode import decode
from tagging.core.analysis.people import MAX_FACES_STORED, PeopleAnalyser
from tagging.core.tags import Tag

PHOTOS = Path(__file__).resolve().parents[2] / "fixtures" / "photos"
BIG = 10**9


def contribution(data: bytes):
    return PeopleAnalyser().analyse(decode(data, BIG))


def jpeg(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, **options)
    return out.getvalue()


def test_a_portrait_is_a_person_with_one_face_box() -> None:
    result = contribution((PHOTOS / "grace_hopper.jpg").read_bytes())
    assert result.facts["face_count"] == 1
    (face,) = result.facts["faces"]
    left, top, width, height = face["box"]
    assert 0.30 < left < 0.40 and 0.15 < top < 0.25 and 0.25 < width < 0.40 and 0.28 < height < 0.42
    assert all(v == round(v, 4) for v in face["box"]) and face["score"] == round(face["score"], 3)
    assert result.tags == [Tag("person", result.tags[0].confidence, "faces")]
    assert result.tags[0].confidence >= 0.95
    json.dumps(result.facts)  # stored as JSON


def test_no_face_no_tag_and_a_zero_count() -> None:
    result = contribution((PHOTOS / "chelsea.png").read_bytes())
    assert result.tags == [] and result.facts == {"faces": [], "face_count": 0}


def group_photo(names: list[str]) -> bytes:
    parts = [decode((PHOTOS / n).read_bytes(), BIG).working.resize((256, 256)) for n in names]
    canvas = Image.new("RGB", (256 * len(parts), 256), (128, 128, 128))
    for i, part in enumerate(parts):
        canvas.paste(part, (256 * i, 0))
    return jpeg(canvas)


def test_two_faces_are_people_three_are_a_group_with_the_nth_face_s_confidence() -> None:
    two = contribution(group_photo(["astronaut.jpg", "chelsea.png", "camera.png"]))
    assert two.facts["face_count"] == 2
    scores = [f["score"] for f in two.facts["faces"]]
    assert scores == sorted(scores, reverse=True)
    assert {t.name: round(t.confidence, 3) for t in two.tags} == {"person": scores[0], "people": scores[1]}
    three = contribution(group_photo(["astronaut.jpg", "grace_hopper.jpg", "camera.png"]))
    assert three.facts["face_count"] == 3
    assert [t.name for t in three.tags] == ["person", "people", "group"]
    assert round(three.tags[2].confidence, 3) == three.facts["faces"][2]["score"]


def test_boxes_are_fractions_of_the_oriented_image() -> None:
    """EXIF orientation 6 (rotate 90 degrees clockwise to view): the face box is where
    the face is in the upright image, not in the stored pixels."""
    upright = decode((PHOTOS / "astronaut.jpg").read_bytes(), BIG).working
    plain = contribution(jpeg(upright)).facts["faces"][0]["box"]
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what a camera would have written
    rotated = contribution(jpeg(stored, exif=exif.tobytes())).facts["faces"][0]["box"]
    assert rotated == pytest.approx(plain, abs=0.03)


def test_at_most_20_faces_are_stored_but_all_are_counted() -> None:
    face = decode((PHOTOS / "grace_hopper.jpg").read_bytes(), BIG).working.crop((150, 90, 370, 350))
    face = face.resize((56, 66), Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (640, 480), (128, 128, 128))
    for row in range(6):
        for col in range(9):
            canvas.paste(face, (8 + col * 70, 6 + row * 78))
    result = contribution(jpeg(canvas))
    assert result.facts["face_count"] > MAX_FACES_STORED == len(result.facts["faces"])
    assert {t.name for t in result.tags} == {"person", "people", "group"}


def test_the_default_pipeline_tags_people_and_stores_the_facts() -> None:
    assert any(a.name == "faces" for a in default_analysers())
    result = analyse((PHOTOS / "astronaut.jpg").read_bytes(), BIG)
    assert ("person", "faces") in {(t.name, t.source) for t in result.tags}
    assert result.facts["face_count"] == 1 and len(result.facts["faces"]) == 1
