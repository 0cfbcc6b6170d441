"""The labelled development set (tests/fixtures/quality) through the real analysis:
the regressions that matter, judged from the labels, never from stored results."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from bench import quality
from bench.quality import Label, Outcome, PhotoResult

SET = Path(quality.LABELS).parent
FIXTURES = SET.parent / "photos"
RESERVED = ("kphotoalbum", "palapeli", "opencv")


@pytest.fixture(scope="module")
def measured() -> tuple[list[Label], list[PhotoResult], dict]:
    return quality.run()


def test_the_set_is_what_its_sources_say() -> None:
    labels = quality.load_labels()
    sources = json.loads((SET / "sources.json").read_text(encoding="utf-8"))
    own = {label.file for label in labels if not label.file.startswith("../")}
    assert own == {s["file"] for s in sources} == {p.name for p in SET.glob("*.jpg")}
    assert {label.file for label in labels} - own == {f"../photos/{p.name}" for p in FIXTURES.glob("*.[jp][pn]g")}
    licences = (SET / "LICENSES.md").read_text(encoding="utf-8")
    for source in sources:
        assert source["licence"] and source["package"] and source["version"] and source["path"]
        assert f"`{source['file']}`" in licences
        assert not any(word in (source["package"] + source["path"]).lower() for word in RESERVED)
        with Image.open(SET / source["file"]) as image:
            assert image.format == "JPEG" and max(image.size) <= 1024
    for label in labels:
        assert label.categories and label.expected and not (label.expected & label.wrong)
        assert label.text == bool(label.words)


def test_no_development_photo_gets_a_clearly_wrong_content_tag(measured) -> None:
    _, results, _ = measured
    wrong = {r.file: r.wrong_tags for r in results if r.outcome == Outcome.WRONG}
    assert wrong == {}


def test_the_fixture_photos_keep_a_right_content_tag(measured) -> None:
    """The classifier's own subjects (a cat, coffee, a motorcycle, a camera, a rocket);
    the portraits need the face analyser and are judged by the set's other tests."""
    labels, results, _ = measured
    for label, result in zip(labels, results):
        if label.file.startswith("../photos/") and label.people is not True:
            assert result.outcome == Outcome.RIGHT, (label.file, result.content_tags)


def test_at_least_half_of_the_set_gets_a_right_content_tag(measured) -> None:
    _, _, summary = measured
    overall = summary["overall"]
    assert overall["photos"] == len(quality.load_labels())
    assert overall["recall"] >= 0.5, quality.table(summary)


# --- the scoring itself, on crafted labels ------------------------------------------------


def _label(**kwargs) -> Label:
    base = {"file": "x.jpg", "categories": ["scenery"], "expected": ["lake", "landscape"], "wrong": ["car"],
            "people": False, "text": False, "words": []}
    return Label.from_dict({**base, **kwargs})


@pytest.mark.parametrize(
    ("tags", "outcome"),
    [
        (["landscape", "blue"], Outcome.RIGHT),
        (["lake", "car"], Outcome.WRONG),  # one wrong tag spoils the photo
        ([], Outcome.NONE),
        (["boat"], Outcome.OTHER),
    ],
)
def test_judge(tags: list[str], outcome: str) -> None:
    assert quality.judge(_label(), tags)[0] == outcome


def _result(file: str, outcome: str, categories=("scenery",), face_count=None, words=None) -> PhotoResult:
    return PhotoResult(file, tuple(categories), outcome, [], [], [], face_count, words)


def test_summary_counts_precision_recall_and_detection() -> None:
    labels = [_label(file="a"), _label(file="b", people=True), _label(file="c", text=True, words=["exit", "door"]),
              _label(file="d", people=None)]
    results = [
        _result("a", Outcome.RIGHT, face_count=1),  # a false face
        _result("b", Outcome.NONE, categories=("people",), face_count=2),
        _result("c", Outcome.WRONG, categories=("text",), face_count=0, words=["exit"]),
        _result("d", Outcome.OTHER, face_count=0),  # people unlabelled: not counted
    ]
    summary = quality.summarise(labels, results, {"faces", "text"})
    assert summary["overall"] == {"photos": 4, "right": 1, "none": 1, "wrong": 1, "other": 1,
                                  "precision": round(1 / 3, 3), "recall": 0.25}
    assert summary["categories"]["people"]["recall"] == 0.0 and summary["categories"]["people"]["precision"] is None
    people = summary["people_detection"]
    assert (people["photos"], people["found"], people["false_hits"], people["missed"]) == (3, 1, 1, 0)
    text = summary["text_detection"]
    assert (text["precision"], text["recall"], text["words_read"], text["words_expected"]) == (1.0, 1.0, 1, 2)


def test_detection_is_not_available_without_its_analyser() -> None:
    summary = quality.summarise([_label()], [_result("x.jpg", Outcome.NONE)], {"classifier", "colour"})
    assert summary["people_detection"] == summary["text_detection"] == quality.NOT_AVAILABLE
