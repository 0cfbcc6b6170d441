"""TAGGING_RETENTION_DAYS: images older than the lifecycle rule's N days answer
``url: null`` and ``thumbnail_url: null`` (their blobs are gone), decided from
``uploaded_at`` alone, with no request to Blob Storage."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from tagging.core.keys import image_id as make_image_id
from tagging.core.keys import new_batch_id, user_key
from tagging.core.records import BatchRecord, ImageRecord
from tagging.core.tags import Tag
from tagging.core.vocabulary import ImageStatus
from tagging.services.query import QueryService
from tagging.settings import get_settings

USER = "retention-user"


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _store(storage, days_old: float) -> str:  # type: ignore[no-untyped-def]
    """An image uploaded ``days_old`` days ago, tagged "cat", with a thumbnail."""
    uploaded = datetime.now(UTC) - timedelta(days=days_old)
    image = make_image_id(new_batch_id(int(uploaded.timestamp() * 1000)), 0)
    record = ImageRecord(
        user_key=user_key(USER), id=image, batch_id=image.rsplit("-", 1)[0], filename="old.jpg",
        content_type="image/jpeg", size=3, uploaded_at=_iso(uploaded), status=ImageStatus.TAGGED,
        tags=[Tag("cat", 0.9, "model")], has_thumbnail=True,
    )  # fmt: skip
    storage.blobs.put_original(record, b"abc")
    storage.images.insert(record)
    storage.batches.upsert(BatchRecord(record.user_key, record.batch_id, record.uploaded_at, 1, 0, {}))
    storage.index.replace_rows(record, [])
    return image


class CountingBlobs:
    """Wraps the real blob store and counts URL requests (signing makes no request)."""

    def __init__(self, blobs) -> None:  # type: ignore[no-untyped-def]
        self._blobs, self.signed = blobs, 0

    def original_url(self, *args):  # type: ignore[no-untyped-def]
        self.signed += 1
        return self._blobs.original_url(*args)

    def thumbnail_url(self, *args):  # type: ignore[no-untyped-def]
        self.signed += 1
        return self._blobs.thumbnail_url(*args)


def test_images_older_than_the_retention_have_no_urls(storage):
    old, recent = _store(storage, 31), _store(storage, 29)
    service = QueryService(dataclasses.replace(get_settings(), retention_days=30), storage)
    key = user_key(USER)
    assert service.get_image(key, old)["url"] is None and service.get_image(key, old)["thumbnail_url"] is None
    fresh = service.get_image(key, recent)
    assert fresh["url"].startswith("http") and fresh["thumbnail_url"].startswith("http")
    listed = {i["id"]: i["thumbnail_url"] for i in service.list_images(key, None, "100", None)["images"]}
    assert listed[old] is None and listed[recent] is not None
    searched = {i["id"]: i["thumbnail_url"] for i in service.list_images(key, "cat", "100", None)["images"]}
    assert searched[old] is None and searched[recent] is not None
    batch = service.get_batch(key, old.rsplit("-", 1)[0])
    assert [i["thumbnail_url"] for i in batch["images"]] == [None]


def test_retention_off_keeps_every_url(storage):
    old = _store(storage, 400)
    service = QueryService(dataclasses.replace(get_settings(), retention_days=0), storage)
    assert service.get_image(user_key(USER), old)["url"] is not None


def test_aged_out_images_cost_no_signing_and_no_request(storage):
    old = _store(storage, 10)
    counting = CountingBlobs(storage.blobs)
    service = QueryService(
        dataclasses.replace(get_settings(), retention_days=7), dataclasses.replace(storage, blobs=counting)
    )
    service.get_image(user_key(USER), old)
    assert counting.signed == 0
    recent = _store(storage, 1)  # control: the same spy does see an image within the window signed
    service.get_image(user_key(USER), recent)
    assert counting.signed > 0


def test_the_boundary_is_strictly_older_than_n_days():
    from tagging.services.links import aged_out

    now = datetime(2030, 6, 1, tzinfo=UTC)
    assert not aged_out(_iso(now - timedelta(days=30)), 30, now)
    assert aged_out(_iso(now - timedelta(days=30, seconds=1)), 30, now)
    assert not aged_out("not a time", 30, now) and not aged_out("", 30, now)
    assert not aged_out(_iso(now - timedelta(days=3000)), 0, now)
