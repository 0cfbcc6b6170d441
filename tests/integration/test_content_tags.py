"""Real photos get their content tags through the whole pipeline, and search finds them."""
from __future__ import annotations

from pathlib import Path

from tests.support.host import body_json, multipart

PHOTOS = Path(__file__).parents[1] / "fixtures" / "photos"
EXPECTED = {"chelsea.png": "cat", "coffee.png": "coffee", "motorcycle_left.jpg": "motorcycle", "camera.png": "camera"}


def test_fixture_photos_are_tagged_by_content_and_searchable(host):
    files = [
        ("f", name, (PHOTOS / name).read_bytes(), "application/octet-stream") for name in [*EXPECTED, "astronaut.jpg"]
    ]
    body, ctype = multipart(files)
    response = host.http("upload_images", "POST", "images", user="content", headers={"Content-Type": ctype}, body=body)
    assert response.status_code == 202
    ids = {i["filename"]: i["id"] for i in body_json(response)["images"]}
    host.drain()
    for name, tag in EXPECTED.items():
        detail = body_json(host.http("get_image", "GET", "i", user="content", route_params={"id": ids[name]}))
        classifier_tags = {t["name"]: t["confidence"] for t in detail["tags"] if t["source"] == "classifier"}
        assert classifier_tags.get(tag, 0) >= 0.5, (name, classifier_tags)
        assert detail["facts"]["labels"][0]["confidence"] > 0.3
        found = body_json(host.http("list_images", "GET", "images", user="content", params={"tag": tag}))
        assert [i["id"] for i in found["images"]] == [ids[name]]
    # A portrait the model is unsure about gets no content tag rather than a wrong one.
    astronaut = body_json(host.http("get_image", "GET", "i", user="content", route_params={"id": ids["astronaut.jpg"]}))
    assert [t for t in astronaut["tags"] if t["source"] == "classifier"] == []
    assert astronaut["facts"]["classifier"]["uncertain"] is True
