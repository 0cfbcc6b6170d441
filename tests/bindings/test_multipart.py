import pytest

from tagging.bindings._multipart import parse_upload
from tagging.services.errors import ServiceError
from tests.support.host import multipart


def test_files_from_any_field_and_metadata():
    body, ctype = multipart(
        [("a", "one.jpg", b"1", "image/jpeg"), ("b", "two.png", b"22", "image/png")], {"metadata": "{}"}
    )
    parsed = parse_upload(body, ctype, None, max_files=10)
    assert [(f.filename, f.data) for f in parsed.files] == [("one.jpg", b"1"), ("two.png", b"22")]
    assert parsed.metadata == "{}"


def test_raw_image_body_uses_filename_param():
    parsed = parse_upload(b"abc", "image/png", "x.png", max_files=10)
    assert [(f.filename, f.data, f.declared_type) for f in parsed.files] == [("x.png", b"abc", "image/png")]


@pytest.mark.parametrize(
    ("body", "ctype", "code"),
    [(b"x", "text/plain", "unsupported_media_type"), (b"x", "", "unsupported_media_type"),
     (b"x", "multipart/form-data", "malformed_multipart"), (b"{}", "application/json", "unsupported_media_type")],
)  # fmt: skip
def test_refusals(body, ctype, code):
    with pytest.raises(ServiceError) as error:
        parse_upload(body, ctype, None, max_files=10)
    assert error.value.code == code


def test_thousands_of_parts_are_refused():
    body, ctype = multipart([("f", f"{i}.jpg", b"x", "image/jpeg") for i in range(2000)])
    with pytest.raises(ServiceError) as error:
        parse_upload(body, ctype, None, max_files=100)
    assert error.value.code == "too_many_parts" and error.value.kind == "too_large"


def test_large_files_are_not_mistaken_for_large_fields():
    data = bytes(range(256)) * 4096  # 1 MiB
    body, ctype = multipart([("f", "big.png", data, "image/png")], {"metadata": "{}"})
    parsed = parse_upload(body, ctype, None, max_files=1)
    assert parsed.files[0].data == data


def test_oversized_text_field_is_refused():
    body, ctype = multipart([("f", "a.png", b"x", "image/png")], {"metadata": "x" * (2 * 1024 * 1024)})
    with pytest.raises(ServiceError) as error:
        parse_upload(body, ctype, None, max_files=10)
    assert error.value.kind == "too_large"


def test_a_repeated_metadata_field_is_refused():
    body = (b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\n\r\n1\r\n"
            b"--b\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{}\r\n"
            b"--b\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n[]\r\n--b--\r\n")  # fmt: skip
    with pytest.raises(ServiceError) as refused:
        parse_upload(body, "multipart/form-data; boundary=b", None, max_files=10)
    assert refused.value.code == "invalid_metadata"
