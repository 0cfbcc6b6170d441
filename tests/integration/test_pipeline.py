"""Upload -> queue -> tag -> query against a real Azurite, functions invoked as indexed."""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC

import pytest

from tagging.adapters.queues import decode_request, encode_request
from tagging.core.keys import user_key
from tagging.core.records import TagRequest
from tests.support import images
from tests.support.host import body_json, multipart


def upload_raw(host, data: bytes, filename: str = "photo.jpg", user: str = "alice", ctype: str = "image/jpeg"):
    return host.http(
        "upload_images", "POST", "images", user=user, headers={"Content-Type": ctype},
        params={"filename": filename}, body=data,
    )  # fmt: skip


def upload_batch(host, files, metadata: str | None = None, user: str = "alice"):
    body, ctype = multipart(files, {"metadata": metadata} if metadata is not None else None)
    return host.http("upload_images", "POST", "images", user=user, headers={"Content-Type": ctype}, body=body)


def get_image(host, image_id: str, user: str = "alice"):
    return host.http("get_image", "GET", f"images/{image_id}", user=user, route_params={"id": image_id})


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_single_raw_upload_is_tagged_and_queryable(host):
    response = upload_raw(host, images.solid((220, 20, 20), (400, 300)))
    assert response.status_code == 202
    body = body_json(response)
    assert response.headers["Location"] == f"/api/batches/{body['batch_id']}"
    [image] = body["images"]
    assert image["status"] == "queued" and image["filename"] == "photo.jpg"
    assert body["rejected"] == []

    queued = body_json(get_image(host, image["id"]))
    assert queued["status"] == "queued" and queued["tags"] == []

    assert host.drain() >= 1
    detail = body_json(get_image(host, image["id"]))
    assert detail["status"] == "tagged"
    names = {t["name"]: t for t in detail["tags"]}
    assert names["red"]["source"] == "colour" and names["red"]["confidence"] > 0.9
    assert "landscape" not in names and detail["facts"]["orientation"] == "landscape"  # a fact, not a tag
    assert detail["facts"]["width"] == 400 and detail["facts"]["height"] == 300
    assert detail["facts"]["format"] == "jpeg"
    assert detail["tagged_at"] and detail["uploaded_at"] and detail["error"] is None


def test_sas_urls_read_exactly_that_blob_and_only_read(host):
    data = images.solid((20, 20, 220), (300, 300), "PNG")
    image_id = body_json(upload_raw(host, data, "blue.png", ctype="image/png"))["images"][0]["id"]
    host.drain()
    detail = body_json(get_image(host, image_id))
    status, original = fetch(detail["url"])
    assert status == 200 and original == data
    status, thumb = fetch(detail["thumbnail_url"])
    assert status == 200 and thumb[:3] == b"\xff\xd8\xff"
    # Read-only: a PUT with the same SAS is refused.
    request = urllib.request.Request(detail["url"], data=b"x", method="PUT", headers={"x-ms-blob-type": "BlockBlob"})
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("SAS allowed a write")
    except urllib.error.HTTPError as error:
        assert error.code == 403
    # Containers are private: the same URL without its token is refused.
    assert fetch(detail["url"].split("?")[0])[0] in (403, 404)
    # Short-lived: expires TAGGING_SAS_TTL_SECONDS (default 900) from now.
    from datetime import datetime
    from urllib.parse import parse_qs, urlsplit

    expiry = datetime.fromisoformat(parse_qs(urlsplit(detail["url"]).query)["se"][0].replace("Z", "+00:00"))
    remaining = (expiry - datetime.now(UTC)).total_seconds()
    assert 800 < remaining <= 905
    assert parse_qs(urlsplit(detail["url"]).query)["sp"] == ["r"]
    # Exactly that blob: the same token on another blob name is refused.
    other = detail["url"].replace(image_id, image_id[:-1] + ("1" if image_id[-1] != "1" else "2"))
    assert fetch(other)[0] == 403


def test_batch_with_metadata_rejections_and_progress(host):
    files = [
        ("file", "a.jpg", images.solid((250, 250, 250), (50, 50)), "image/jpeg"),
        ("photos", "b.gif", images.solid((0, 200, 0), (40, 80), "GIF"), "image/gif"),
        ("x", "notes.txt", b"hello, not an image", "image/jpeg"),
        ("y", "empty.png", b"", "image/png"),
    ]
    response = upload_batch(host, files, metadata=json.dumps({"album": "trip", "n": 2}))
    assert response.status_code == 202
    body = body_json(response)
    assert [i["filename"] for i in body["images"]] == ["a.jpg", "b.gif"]
    rejected = {r["filename"]: r["error"]["code"] for r in body["rejected"]}
    assert rejected == {"notes.txt": "unsupported_format", "empty.png": "empty_file"}

    batch_id = body["batch_id"]
    progress = body_json(host.http("get_batch", "GET", f"batches/{batch_id}", route_params={"id": batch_id}))
    assert progress["total"] == 2 and progress["queued"] == 2 and progress["tagged"] == 0
    assert progress["metadata"] == {"album": "trip", "n": 2} and progress["rejected"] == 2

    host.drain()
    progress = body_json(host.http("get_batch", "GET", f"batches/{batch_id}", route_params={"id": batch_id}))
    assert (progress["total"], progress["queued"], progress["tagged"], progress["failed"]) == (2, 0, 2, 0)
    assert progress["done"] is True
    tags = {i["filename"]: {t["name"] for t in i["tags"]} for i in progress["images"]}
    assert "white" in tags["a.jpg"] and "green" in tags["b.gif"]
    assert not ({"square", "portrait", "landscape"} & (tags["a.jpg"] | tags["b.gif"]))  # orientation is a fact


@pytest.mark.parametrize(
    ("files", "status", "code"),
    [
        ([("f", "a.txt", b"plain text", "text/plain")], 415, "unsupported_format"),
        ([("f", "e.jpg", b"", "image/jpeg")], 400, "empty_file"),
        ([("f", "big.jpg", b"\xff" * (2 * 1024 * 1024 + 1), "image/jpeg")], 413, "file_too_large"),
    ],
)
def test_nothing_acceptable_is_refused_and_nothing_stored(host, storage, files, status, code):
    before = len(list(host.queue().peek_messages(max_messages=32)))
    response = upload_batch(host, files, user="nobody-stores")
    assert response.status_code == status
    assert body_json(response)["error"]["code"] == code
    assert len(list(host.queue().peek_messages(max_messages=32))) == before
    assert storage.images.range(user_key("nobody-stores"), "", ":", None) == []


def test_invalid_metadata_rejects_the_whole_request(host):
    for metadata in ("not json", "[1, 2]", json.dumps({"k": "v" * 9000})):
        response = upload_batch(host, [("f", "a.jpg", images.solid(), "image/jpeg")], metadata=metadata, user="meta")
        assert response.status_code == 400
        assert body_json(response)["error"]["code"] == "invalid_metadata"
    listing = body_json(host.http("list_images", "GET", "images", user="meta"))
    assert listing["images"] == []


def test_too_many_files_is_413(host):
    files = [("f", f"{i}.jpg", images.solid(), "image/jpeg") for i in range(11)]
    response = upload_batch(host, files, user="many")
    assert response.status_code == 413 and body_json(response)["error"]["code"] == "too_many_files"


def test_format_is_recognised_from_bytes_not_declared_type(host):
    png = images.solid((0, 0, 0), (30, 30), "PNG")
    body = body_json(upload_raw(host, png, "lies.jpg", ctype="image/jpeg", user="sniff"))
    host.drain()
    detail = body_json(get_image(host, body["images"][0]["id"], user="sniff"))
    assert detail["content_type"] == "image/png" and detail["facts"]["format"] == "png"


def test_requests_without_identity_are_401_unless_default_user(host, monkeypatch):
    response = host.http("list_images", "GET", "images", user=None)
    assert response.status_code == 401
    assert body_json(response)["error"]["code"] == "unauthenticated"
    from tagging.bindings import _services

    monkeypatch.setenv("TAGGING_DEFAULT_USER", "local")
    _services.reset()
    try:
        assert host.http("list_images", "GET", "images", user=None).status_code == 200
    finally:
        monkeypatch.delenv("TAGGING_DEFAULT_USER")
        _services.reset()


def test_listing_is_newest_first_with_validated_continuation(host):
    ids = []
    for shade in range(5):
        time.sleep(0.002)  # ids order by upload millisecond; two in one ms are in either order
        body = body_json(upload_raw(host, images.solid((shade * 40, 0, 0)), f"{shade}.jpg", user="pager"))
        ids.append(body["images"][0]["id"])
    seen, token = [], None
    while True:
        params = {"limit": "2"} | ({"continuation": token} if token else {})
        page = body_json(host.http("list_images", "GET", "images", user="pager", params=params))
        assert len(page["images"]) <= 2
        seen += [i["id"] for i in page["images"]]
        token = page["continuation"]
        if token is None:
            break
    assert seen == list(reversed(ids))
    for bad in ({"continuation": "garbage!"}, {"limit": "0"}, {"limit": "101"}, {"limit": "ten"}):
        response = host.http("list_images", "GET", "images", user="pager", params=bad)
        assert response.status_code == 400, bad
        assert body_json(response)["error"]["code"] in {"invalid_continuation", "invalid_limit"}


def test_search_by_tag_and_tag_counts(host):
    for colour, size in (((230, 10, 10), (90, 60)), ((10, 10, 230), (60, 90)), ((235, 15, 15), (60, 60))):
        upload_raw(host, images.solid(colour, size), user="searcher")
    host.drain()
    reds = body_json(host.http("list_images", "GET", "images", user="searcher", params={"tag": "Red"}))
    assert reds["tag"] == "red" and len(reds["images"]) == 2
    assert all(any(t["name"] == "red" for t in i["tags"]) for i in reds["images"])
    assert [i["id"] for i in reds["images"]] == sorted(i["id"] for i in reds["images"])
    first = body_json(host.http("list_images", "GET", "images", user="searcher", params={"tag": "red", "limit": "1"}))
    after_first = {"tag": "red", "continuation": first["continuation"]}
    second = body_json(host.http("list_images", "GET", "images", user="searcher", params=after_first))
    assert [i["id"] for i in first["images"] + second["images"]] == [i["id"] for i in reds["images"]]
    counts = {t["name"]: t["count"] for t in body_json(host.http("list_tags", "GET", "tags", user="searcher"))["tags"]}
    assert counts["red"] == 2 and counts["blue"] == 1 and "square" not in counts
    assert host.http("list_images", "GET", "images", user="searcher", params={"tag": "!!!"}).status_code == 400


def test_same_message_twice_even_concurrently_converges(host, storage):
    body = body_json(
        upload_raw(host, images.halves((250, 0, 0), (0, 0, 250)), "twice.png", user="dup", ctype="image/png")
    )
    image_id = body["images"][0]["id"]
    message = encode_request(TagRequest(user_key("dup"), image_id))
    host.queue().clear_messages()
    threads = [threading.Thread(target=host.run_message, args=(message,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    host.run_message(message)  # and once more, later
    record = storage.images.get(user_key("dup"), image_id)
    assert record.status == "tagged"
    rows = [r for r in storage.index._range(user_key("dup"), "", "~", None)]
    assert sorted(r["Tag"] for r in rows) == sorted(t.name for t in record.tags)
    assert len(rows) == len({r["RowKey"] for r in rows})


def test_undecodable_image_fails_with_reason_and_is_not_retried(host, storage):
    good = images.solid((1, 2, 3), (300, 200))
    truncated = good[: len(good) // 2]
    body = body_json(upload_raw(host, truncated, "cut.jpg", user="broken"))
    image_id = body["images"][0]["id"]
    host.drain()  # raises if the function raised: a failed image must not be retried
    detail = body_json(get_image(host, image_id, user="broken"))
    assert detail["status"] == "failed"
    assert detail["error"]["code"] == "corrupt_image" and detail["tags"] == []


def test_poison_message_marks_image_failed(host, storage):
    body = body_json(upload_raw(host, images.solid(), "poison.jpg", user="poisoned"))
    image_id = body["images"][0]["id"]
    host.queue().clear_messages()
    host.run_message(
        encode_request(TagRequest(user_key("poisoned"), image_id)), function="tag_image_poison", dequeue_count=5
    )
    detail = body_json(get_image(host, image_id, user="poisoned"))
    assert detail["status"] == "failed" and detail["error"]["code"] == "processing_failed"


def test_message_for_a_missing_entity_rebuilds_it_from_the_blob(host, storage):
    body = body_json(upload_raw(host, images.solid((0, 180, 0), (120, 80)), "crash.jpg", user="crashed"))
    image_id = body["images"][0]["id"]
    storage.images.delete(user_key("crashed"), image_id)  # as if the upload died before the insert
    host.drain()
    detail = body_json(get_image(host, image_id, user="crashed"))
    assert detail["status"] == "tagged" and detail["filename"] == "crash.jpg"
    assert detail["batch_id"] == body["batch_id"]


def test_blob_deleted_before_its_message_runs_fails_the_image(host, storage):
    body = body_json(upload_raw(host, images.solid(), "gone.jpg", user="gone"))
    image_id = body["images"][0]["id"]
    storage.blobs.delete_image_blobs(user_key("gone"), image_id)
    host.drain()
    detail = body_json(get_image(host, image_id, user="gone"))
    assert detail["status"] == "failed" and detail["error"]["code"] == "blob_missing"


def test_delete_removes_blobs_entity_and_index_rows(host, storage):
    body = body_json(upload_raw(host, images.solid((240, 240, 0), (100, 50)), "bye.jpg", user="deleter"))
    image_id = body["images"][0]["id"]
    host.drain()
    detail = body_json(get_image(host, image_id, user="deleter"))
    response = host.http("delete_image", "DELETE", f"images/{image_id}", user="deleter", route_params={"id": image_id})
    assert response.status_code == 204
    assert get_image(host, image_id, user="deleter").status_code == 404
    assert fetch(detail["url"])[0] == 404 and fetch(detail["thumbnail_url"])[0] == 404
    assert list(storage.index._range(user_key("deleter"), "", "~", None)) == []
    again = host.http("delete_image", "DELETE", f"images/{image_id}", user="deleter", route_params={"id": image_id})
    assert again.status_code == 404


def test_other_users_images_are_404_everywhere(host):
    body = body_json(upload_raw(host, images.solid((9, 9, 9), (70, 70)), "mine.jpg", user="owner"))
    image_id, batch_id = body["images"][0]["id"], body["batch_id"]
    host.drain()
    assert get_image(host, image_id, user="intruder").status_code == 404
    assert host.http("get_batch", "GET", "b", user="intruder", route_params={"id": batch_id}).status_code == 404
    response = host.http("delete_image", "DELETE", "i", user="intruder", route_params={"id": image_id})
    assert response.status_code == 404 and body_json(response)["error"]["code"] == "not_found"
    assert body_json(host.http("list_images", "GET", "images", user="intruder"))["images"] == []
    assert body_json(
        host.http("list_images", "GET", "images", user="intruder", params={"tag": "black"})
    )["images"] == []
    assert body_json(host.http("list_tags", "GET", "tags", user="intruder"))["tags"] == []
    assert get_image(host, image_id, user="owner").status_code == 200


def test_hostile_principal_ids_are_safe(host):
    for principal in ("a/b\\c#d?e", "x" * 1000, "ünï©ødé ☃"):
        response = upload_raw(host, images.solid(), "p.jpg", user=principal)
        assert response.status_code == 202, principal
        listing = body_json(host.http("list_images", "GET", "images", user=principal))
        assert len(listing["images"]) == 1
    assert host.http("list_images", "GET", "images", user="bad\x01id").status_code == 400
    assert host.http("list_images", "GET", "images", user="y" * 1025).status_code == 400


def test_unknown_ids_are_404_json(host):
    for bad in ("nope", "../../etc", "9" * 13 + "aaaaaa-001"):
        response = get_image(host, bad)
        assert response.status_code == 404 and body_json(response)["error"]["code"] == "not_found"


def test_health_reports_storage(host):
    response = host.http("health", "GET", "health", user=None)
    assert response.status_code == 200
    assert body_json(response)["storage"] == {"blob": True, "queue": True, "table": True}


def test_poison_message_for_an_upload_that_died_before_its_record_fails_visibly(host, storage):
    body = body_json(upload_raw(host, images.solid(), "lost.jpg", user="lost"))
    image_id = body["images"][0]["id"]
    storage.images.delete(user_key("lost"), image_id)  # the record was never written
    host.queue().clear_messages()
    host.run_message(
        encode_request(TagRequest(user_key("lost"), image_id)), function="tag_image_poison", dequeue_count=5
    )
    detail = body_json(get_image(host, image_id, user="lost"))
    assert detail["status"] == "failed" and detail["filename"] == "lost.jpg"


def test_messages_naming_unsafe_keys_are_dropped_before_any_storage_call(host):
    from tagging.bindings import _services

    for user, image in (
        ("../x", "8" * 13 + "aaaaaa-000"), ("b" + "/" * 5, "8" * 13 + "aaaaaa-000"), ("bYWxpY2U", "../..")
    ):
        body = json.dumps({"v": 1, "user": user, "image": image}).encode()
        host.run_message(body)  # the function returns: the message is consumed, not retried
        assert _services.tag_service().process(decode_request(body)).outcome == "dropped"
