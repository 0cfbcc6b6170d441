import pytest

from tagging.services.errors import ServiceError
from tagging.services.upload import clean_filename, parse_metadata


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("photo.jpg", "photo.jpg"), ("../../etc/passwd", "passwd"), ("C:\\Users\\me\\pic.png", "pic.png"),
     ("a\x00b\x1fc.jpg", "abc.jpg"), ("", "fallback"), (None, "fallback"), ("...", "fallback"),
     ("x" * 300 + ".jpg", "x" * 255), ("  spaced\tname .gif", "spaced name .gif")],
)  # fmt: skip
def test_clean_filename(raw, expected):
    assert clean_filename(raw, "fallback") == expected


def test_metadata_must_be_a_small_json_object():
    assert parse_metadata(None, 8192) == {}
    assert parse_metadata('{"album": "x"}', 8192) == {"album": "x"}
    for bad in ("[]", "3", "nope", "{" * 5000, '{"a": "' + "b" * 9000 + '"}'):
        with pytest.raises(ServiceError) as error:
            parse_metadata(bad, 8192)
        assert error.value.code == "invalid_metadata"
