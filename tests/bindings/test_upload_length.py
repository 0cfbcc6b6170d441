"""POST /api/images without Content-Length: what a chunked upload looks like to the
function under the Functions host, which passes a body only when Content-Length > 0."""
from __future__ import annotations

import pytest

from tests.support import images
from tests.support.host import body_json


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "image/jpeg", "Transfer-Encoding": "chunked"},  # as the host passes a chunked upload
        {"Content-Type": "multipart/form-data; boundary=x", "transfer-encoding": "chunked"},
    ],
)
def test_an_empty_body_without_content_length_is_411_length_required(host, headers):
    response = host.http("upload_images", "POST", "images", headers=headers, body=b"")
    assert response.status_code == 411
    error = body_json(response)["error"]
    assert error["code"] == "length_required"
    assert "Content-Length" in error["message"] and "chunked" in error["message"]
    assert response.mimetype == "application/json"


def test_an_empty_body_with_content_length_0_is_still_no_files(host):
    response = host.http("upload_images", "POST", "images", headers={"Content-Type": "image/jpeg",
                                                                    "Content-Length": "0"}, body=b"")  # fmt: skip
    assert response.status_code == 400 and body_json(response)["error"]["code"] == "no_files"


def test_a_body_with_content_length_is_accepted(host):
    data = images.solid()
    response = host.http("upload_images", "POST", "images", headers={"Content-Type": "image/jpeg",
                         "Content-Length": str(len(data))}, params={"filename": "a.jpg"}, body=data)  # fmt: skip
    assert response.status_code == 202
