"""QueryService against a real Azurite: listing and paging, tag search through the
index, one image, a batch's progress, tag counts, delete and health.

Images go through the real upload and tagging services; each test uses its own user.
"""
from __future__ import annotations

import time
import uuid

import pytest

from tagging.core.keys import user_key
from tagging.core.records import TagRequest
from tagging.core.vocabulary import ErrorKind
from tagging.services.errors import ServiceError
from tagging.services.query import QueryService
from tagging.services.tagging import TagService
from tagging.services.upload import IncomingFile, UploadService
from tagging.settings import get_settings
from tests.support import images
from tests.support.storage import NOTHING, leftovers


@pytest.fixture
def app(storage, host):
    settings = get_settings()
    yield UploadService(settings, storage), TagService(settings, storage), QueryService(settings, storage)
    host.queue().clear_messages()  # the services run directly here, not from the queue


@pytest.fixture
def user() -> str:
    return f"query-{uuid.uuid4().hex[:8]}"


def _upload(upload: UploadService, user: str, count: int = 1, red: bool = False) -> list[str]:
    """``count`` distinct photo-like JPEGs, or (``red``) red ones of distinct sizes, which share a colour tag."""
    data = [images.solid((200, 30, 30), (320 + i, 240)) if red else images.photo_like((320, 240), seed=i)
            for i in range(count)]  # fmt: skip
    files = [IncomingFile(f"p{i}.jpg", item) for i, item in enumerate(data)]
    return [image["id"] for image in upload.upload(user_key(user), files, None).images]


def _tag(tagger: TagService, user: str, image_id: str) -> None:
    tagger.process(TagRequest(user_key(user), image_id))


def _code(call) -> tuple[str, str]:
    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value.kind, caught.value.code


def test_listing_pages_newest_batch_first_without_gaps_or_repeats(app, user):
    upload, _, query = app
    older = _upload(upload, user, 2)
    time.sleep(0.005)  # batch ids count down per millisecond
    newer = _upload(upload, user, 1)
    key = user_key(user)
    first = query.list_images(key, None, "2", None)
    assert [i["id"] for i in first["images"]] == [*newer, older[0]] and first["continuation"]
    second = query.list_images(key, None, "2", first["continuation"])
    assert [i["id"] for i in second["images"]] == [older[1]] and second["continuation"] is None
    assert all(i["status"] == "queued" and i["tags"] == [] for i in first["images"] + second["images"])


def test_tag_search_normalises_the_query_and_pages_through_the_index(app, user):
    upload, tagger, query = app
    ids = _upload(upload, user, 3, red=True)
    for image_id in ids:
        _tag(tagger, user, image_id)
    key = user_key(user)
    records = {i: query.get_image(key, i) for i in ids}
    shared = set.intersection(*({t["name"] for t in r["tags"]} for r in records.values()))
    assert "red" in shared
    name = sorted(shared)[0]
    seen: list[str] = []
    token = None
    while True:
        page = query.list_images(key, f"  {name.upper()} ", "1", token)
        assert page["tag"] == name and len(page["images"]) <= 1
        for image in page["images"]:
            # A hit is answered from the index row: the same tags as the image itself.
            assert image["tags"] == records[image["id"]]["tags"] and image["status"] == "tagged"
        seen += [i["id"] for i in page["images"]]
        token = page["continuation"]
        if token is None:
            break
    assert sorted(seen) == sorted(ids)
    assert query.list_images(key, "no-such-tag", None, None)["images"] == []


@pytest.mark.parametrize("tag", ["%%%", "-", "!?"])
def test_a_tag_without_letters_or_digits_is_invalid(app, user, tag):
    assert _code(lambda: app[2].list_images(user_key(user), tag, None, None)) == (ErrorKind.INVALID, "invalid_tag")


@pytest.mark.parametrize("image_id", ["nope", "0000000000000aaaaaa-000", "../x"])
def test_an_unknown_or_malformed_image_id_is_not_found(app, user, image_id):
    assert _code(lambda: app[2].get_image(user_key(user), image_id)) == (ErrorKind.NOT_FOUND, "not_found")
    assert _code(lambda: app[2].delete_image(user_key(user), image_id)) == (ErrorKind.NOT_FOUND, "not_found")


def test_another_users_image_is_not_found(app, user):
    upload, _, query = app
    (image_id,) = _upload(upload, user)
    assert _code(lambda: query.get_image(user_key(user + "-other"), image_id)) == (ErrorKind.NOT_FOUND, "not_found")


def test_batch_progress_counts_each_status_and_is_done_when_none_is_queued(app, user):
    upload, tagger, query = app
    ids = _upload(upload, user, 2)
    key = user_key(user)
    batch_id = ids[0].split("-")[0]
    progress = query.get_batch(key, batch_id)
    assert (progress["total"], progress["queued"], progress["tagged"], progress["done"]) == (2, 2, 0, False)
    _tag(tagger, user, ids[0])
    progress = query.get_batch(key, batch_id)
    assert (progress["queued"], progress["tagged"], progress["failed"], progress["done"]) == (1, 1, 0, False)
    _tag(tagger, user, ids[1])
    progress = query.get_batch(key, batch_id)
    assert (progress["queued"], progress["tagged"], progress["done"]) == (0, 2, True)
    assert [i["id"] for i in progress["images"]] == ids


@pytest.mark.parametrize("batch_id", ["0000000000000aaaaaa", "not-a-batch"])
def test_an_unknown_or_malformed_batch_is_not_found(app, user, batch_id):
    assert _code(lambda: app[2].get_batch(user_key(user), batch_id)) == (ErrorKind.NOT_FOUND, "not_found")


def test_tag_counts_match_the_images_and_are_sorted_by_count_then_name(app, user):
    upload, tagger, query = app
    ids = _upload(upload, user, 2)
    for image_id in ids:
        _tag(tagger, user, image_id)
    key = user_key(user)
    expected: dict[str, int] = {}
    for image_id in ids:
        for tag in query.get_image(key, image_id)["tags"]:
            expected[tag["name"]] = expected.get(tag["name"], 0) + 1
    tags = query.list_tags(key)["tags"]
    assert {t["name"]: t["count"] for t in tags} == expected
    assert tags == sorted(tags, key=lambda t: (-t["count"], t["name"]))


def test_delete_removes_blobs_index_rows_fingerprints_and_entity(app, user, storage, host):
    upload, tagger, query = app
    (image_id,) = _upload(upload, user)
    _tag(tagger, user, image_id)
    host.queue().clear_messages()
    counts = leftovers(storage, user, host.queue())
    assert counts["index"] > 0 and counts["fingerprints"] > 0 and counts["thumbnails"] == 1
    query.delete_image(user_key(user), image_id)
    assert leftovers(storage, user, host.queue()) == {**NOTHING, "batches": 1}
    assert _code(lambda: query.delete_image(user_key(user), image_id)) == (ErrorKind.NOT_FOUND, "not_found")


def test_a_delete_interrupted_after_the_blobs_finishes_when_retried(app, user, storage, host):
    upload, tagger, query = app
    (image_id,) = _upload(upload, user)
    _tag(tagger, user, image_id)
    host.queue().clear_messages()
    storage.blobs.delete_image_blobs(user_key(user), image_id)  # the first attempt got this far
    query.delete_image(user_key(user), image_id)
    assert leftovers(storage, user, host.queue()) == {**NOTHING, "batches": 1}


def test_health_reports_every_storage_service(app):
    health = app[2].health()
    assert health["status"] == "ok" and set(health["storage"]) >= {"blob", "queue", "table"}
    assert all(health["storage"].values())
