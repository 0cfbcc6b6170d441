import pytest

from tagging.core.keys import image_id, new_batch_id
from tagging.services.errors import ServiceError
from tagging.services.paging import decode_token, encode_token, parse_limit


def test_token_round_trip():
    target = image_id(new_batch_id(), 7)
    assert decode_token(encode_token(target)) == target
    assert decode_token(None) is None and decode_token("") is None


@pytest.mark.parametrize(
    "bad",
    [
        "!!", "e30", encode_token("x") , "eyJuIjoiMSJ9", "a" * 300,
        "eyJuIjogIjk5OTk5OTk5OTk5OTlhYWFhYWEtMDAxJyBvciAxIGVxIDEifQ",
    ],
)
def test_bad_tokens_are_refused(bad):
    with pytest.raises(ServiceError) as error:
        decode_token(bad)
    assert error.value.code == "invalid_continuation" and error.value.kind == "invalid"


@pytest.mark.parametrize(("raw", "value"), [(None, 50), ("", 50), ("1", 1), ("100", 100)])
def test_limits(raw, value):
    assert parse_limit(raw) == value


@pytest.mark.parametrize("bad", ["0", "101", "-1", "5.5", "ten", "1e2"])
def test_bad_limits(bad):
    with pytest.raises(ServiceError):
        parse_limit(bad)
