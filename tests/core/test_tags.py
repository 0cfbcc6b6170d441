import pytest

from tagging.core.tags import Tag, is_tag_name, merge_tags, normalise_tag


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Cat", "cat"), ("  Tiger   Cat ", "tiger cat"), ("sea-shore", "sea-shore"), ("'; DROP--", "drop"),
     ("a/b\\c", "a b c"), ("!!!", ""), ("x" * 100, "x" * 64),
     ("a - b", "a-b"), ("f-!6", "f-6"), ("s \u00ea-h5bq", "s-h5bq")],
)  # fmt: skip
def test_normalise_tag(raw, expected):
    assert normalise_tag(raw) == expected
    assert expected == "" or is_tag_name(expected)


def test_tag_refuses_unnormalised_names_and_bad_confidence():
    with pytest.raises(ValueError):
        Tag("Cat", 0.5, "x")
    with pytest.raises(ValueError):
        Tag("cat", 1.5, "x")


def test_tag_round_trips_through_dict():
    tag = Tag("cat", 0.912345, "classifier")
    assert Tag.from_dict(tag.to_dict()) == Tag("cat", 0.9123, "classifier")


def test_merge_keeps_most_confident_per_name_sorted():
    merged = merge_tags([Tag("red", 0.3, "colour"), Tag("cat", 0.9, "classifier"), Tag("red", 0.6, "colour")])
    assert [(t.name, t.confidence) for t in merged] == [("cat", 0.9), ("red", 0.6)]
