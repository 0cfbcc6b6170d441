"""The API's JSON shapes: retention decides links, and an index row's summary turns
back into the listing an image gives."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tagging.adapters.tables import index_summary, record_from_index_summary
from tagging.core.keys import image_id, new_batch_id, user_key
from tagging.core.records import ImageRecord, to_iso
from tagging.core.tags import Tag
from tagging.core.vocabulary import ImageStatus
from tagging.services.links import Links, aged_out
from tagging.services.views import image_detail as _image_detail
from tagging.services.views import image_summary as _image_summary

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def image_summary(record, storage, retention_days, now):  # type: ignore[no-untyped-def]
    """The listing with the links the query service would give it."""
    return _image_summary(record, Links(storage.blobs, retention_days, now).thumbnail(record))


def image_detail(record, storage, retention_days, now):  # type: ignore[no-untyped-def]
    links = Links(storage.blobs, retention_days, now)
    return _image_detail(record, links.thumbnail(record), links.original(record))


def _record(days_old: float = 1, has_thumbnail: bool = True) -> ImageRecord:
    batch = new_batch_id()
    return ImageRecord(
        user_key=user_key("views"),
        id=image_id(batch, 0),
        batch_id=batch,
        filename="beach day.jpg",
        content_type="image/jpeg",
        size=1234,
        uploaded_at=to_iso(NOW - timedelta(days=days_old)),
        status=ImageStatus.TAGGED,
        tags=[Tag("beach", 0.8, "classifier"), Tag("blue", 0.6, "colour")],
        facts={"width": 640, "height": 480},
        tagged_at=to_iso(NOW - timedelta(days=days_old) + timedelta(seconds=2)),
        has_thumbnail=has_thumbnail,
    )


@pytest.mark.parametrize(
    ("uploaded_at", "days", "expected"),
    [
        (to_iso(NOW - timedelta(days=31)), 30, True),
        (to_iso(NOW - timedelta(days=29)), 30, False),
        (to_iso(NOW - timedelta(days=400)), 0, False),  # retention off
        ("", 30, False),
        ("not a time", 30, False),
    ],
)
def test_aged_out_only_past_a_positive_retention(uploaded_at, days, expected):
    assert aged_out(uploaded_at, days, NOW) is expected


def test_a_summary_links_the_thumbnail_only_when_there_is_one_within_retention(storage):
    record = _record()
    summary = image_summary(record, storage, retention_days=30, now=NOW)
    assert summary["thumbnail_url"] and record.id in summary["thumbnail_url"]
    assert summary["tags"] == [t.to_dict() for t in record.tags] and "facts" not in summary
    assert image_summary(_record(has_thumbnail=False), storage, 30, NOW)["thumbnail_url"] is None
    assert image_summary(_record(days_old=31), storage, 30, NOW)["thumbnail_url"] is None


def test_the_detail_adds_facts_and_drops_the_original_link_once_aged_out(storage):
    fresh = image_detail(_record(), storage, 30, NOW)
    assert fresh["facts"] == {"width": 640, "height": 480} and fresh["size"] == 1234
    assert fresh["url"] and fresh["content_type"] == "image/jpeg"
    expired = image_detail(_record(days_old=31), storage, 30, NOW)
    assert expired["url"] is None and expired["thumbnail_url"] is None and expired["facts"]


def test_an_index_summary_gives_back_the_listing_of_its_image(storage):
    record = _record()
    restored = record_from_index_summary(record.user_key, record.id, index_summary(record))
    assert image_summary(restored, storage, 30, NOW) == image_summary(record, storage, 30, NOW)
