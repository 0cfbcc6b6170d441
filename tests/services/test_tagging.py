"""TagService against a real Azurite: which reads a delivery makes, and how an image
deleted before or while it is tagged stays deleted.

Hooks wrap real storage methods only to run a real write at a chosen moment (or to
count calls); every read and write still goes to Azurite.
"""
from __future__ import annotations

import logging
from datetime import datetime

import pytest

from tagging.core.keys import user_key
from tagging.core.records import TagRequest
from tagging.core.tags import Tag
from tagging.core.vocabulary import ImageStatus
from tagging.services.query import QueryService
from tagging.services.tagging import TagService
from tagging.services.upload import IncomingFile, UploadService
from tagging.settings import get_settings
from tests.support import images
from tests.support.storage import NOTHING, leftovers


@pytest.fixture
def services(storage, host):
    settings = get_settings()
    yield UploadService(settings, storage), TagService(settings, storage), QueryService(settings, storage)
    host.queue().clear_messages()  # these tests run the service directly, not the queue


def _upload(upload: UploadService, user: str, data: bytes | None = None) -> str:
    result = upload.upload(user_key(user), [IncomingFile("t.jpg", data or images.photo_like((320, 240)))], None)
    return result.images[0]["id"]


def _message(user: str, image_id: str, force: bool = False) -> TagRequest:
    return TagRequest(user_key(user), image_id, force=force)


def _count_calls(monkeypatch, obj, name: str) -> list[int]:
    calls = [0]
    real = getattr(obj, name)

    def counted(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(obj, name, counted)
    return calls


def test_first_delivery_reads_no_record_and_a_redelivery_does(services, storage, monkeypatch):
    upload, tagger, _ = services
    image_id = _upload(upload, "reads")
    finds = _count_calls(monkeypatch, storage.images, "find")
    assert tagger.process(_message("reads", image_id), dequeue_count=1).outcome == ImageStatus.TAGGED
    assert finds[0] == 0
    record = storage.images.get(user_key("reads"), image_id)
    assert record.status == ImageStatus.TAGGED and record.filename == "t.jpg" and record.tags
    again = tagger.process(_message("reads", image_id), dequeue_count=2)
    assert (again.outcome, again.reason) == ("skipped", "already tagged") and finds[0] == 1


def test_forced_recheck_removes_index_rows_of_tags_that_no_longer_apply(services, storage):
    upload, tagger, _ = services
    image_id = _upload(upload, "recheck")
    tagger.process(_message("recheck", image_id))
    key = user_key("recheck")
    record = storage.images.get(key, image_id)
    record.tags = [*record.tags, Tag("stale-tag", 0.9, "test")]
    storage.images.replace_existing(record)
    storage.index.replace_rows(record, stale=[])
    assert tagger.process(_message("recheck", image_id, force=True)).outcome == ImageStatus.TAGGED
    rows = {row["Tag"] for row in storage.index._range(key, "", "~", None)}
    assert "stale-tag" not in rows and rows == {t.name for t in storage.images.get(key, image_id).tags}


def test_image_deleted_before_its_message_runs_is_dropped_and_stays_deleted(services, storage, host):
    upload, tagger, query = services
    image_id = _upload(upload, "gone-early")
    query.delete_image(user_key("gone-early"), image_id)
    outcome = tagger.process(_message("gone-early", image_id))
    assert (outcome.outcome, outcome.reason) == ("dropped", "no blob and no record")
    host.queue().clear_messages()
    assert leftovers(storage, "gone-early", host.queue()) == NOTHING | {"batches": 1}


def test_image_deleted_while_tagging_is_not_written_back(services, storage, host, monkeypatch):
    upload, tagger, query = services
    key = user_key("gone-midway")
    image_id = _upload(upload, "gone-midway")
    real = storage.index.replace_rows

    def delete_first(*args, **kwargs):  # the owner deletes just before the index is written
        query.delete_image(key, image_id)
        return real(*args, **kwargs)

    monkeypatch.setattr(storage.index, "replace_rows", delete_first)
    outcome = tagger.process(_message("gone-midway", image_id))
    assert (outcome.outcome, outcome.reason) == ("dropped", "deleted while tagging")
    host.queue().clear_messages()
    assert leftovers(storage, "gone-midway", host.queue()) == NOTHING | {"batches": 1}


def test_missing_record_is_created_and_an_insert_racing_the_upload_still_ends_tagged(services, storage, monkeypatch):
    upload, tagger, _ = services
    key = user_key("late-insert")
    image_id = _upload(upload, "late-insert")
    queued = storage.images.get(key, image_id)
    storage.images.delete(key, image_id)  # the upload has not inserted its record yet
    real = storage.blobs.original_exists

    def insert_meanwhile(*args, **kwargs):  # ... and does so while the tagger commits
        assert storage.images.insert(queued)
        return real(*args, **kwargs)

    monkeypatch.setattr(storage.blobs, "original_exists", insert_meanwhile)
    assert tagger.process(_message("late-insert", image_id)).outcome == ImageStatus.TAGGED
    record = storage.images.get(key, image_id)
    assert record.status == ImageStatus.TAGGED and record.filename == "t.jpg" and queued.status == ImageStatus.QUEUED


def _tag_events(caplog) -> list[logging.LogRecord]:
    events = [r for r in caplog.records if getattr(r, "event", None) == "tag"]
    caplog.clear()
    return events


def _stored_latency_ms(storage, user: str, image_id: str) -> int:
    record = storage.images.get(user_key(user), image_id)
    delta = datetime.fromisoformat(record.tagged_at) - datetime.fromisoformat(record.uploaded_at)
    return round(delta.total_seconds() * 1000)


def test_tag_event_logs_upload_to_tagged_latency_and_marks_forced_rechecks(services, storage, caplog):
    upload, tagger, _ = services
    caplog.set_level(logging.INFO, logger="tagging.services.tagging")
    image_id = _upload(upload, "latency")
    caplog.clear()
    assert tagger.process(_message("latency", image_id)).outcome == ImageStatus.TAGGED
    (tagged,) = _tag_events(caplog)
    assert tagged.tagging_outcome == ImageStatus.TAGGED
    # Plausible (this test uploads and tags within seconds) and exactly what was stored.
    assert 0 <= tagged.tagging_latency_ms < 60_000
    assert tagged.tagging_latency_ms == _stored_latency_ms(storage, "latency", image_id)
    assert f"latency_ms={tagged.tagging_latency_ms}" in tagged.getMessage()
    assert not hasattr(tagged, "tagging_forced") and "forced=" not in tagged.getMessage()

    # A redelivery that finds the image tagged does no work: no latency to report.
    assert tagger.process(_message("latency", image_id), dequeue_count=2).outcome == "skipped"
    (skipped,) = _tag_events(caplog)
    assert not hasattr(skipped, "tagging_latency_ms") and not hasattr(skipped, "tagging_forced")

    # A forced re-check re-tags it: its latency is the image's age, so it is marked.
    assert tagger.process(_message("latency", image_id, force=True)).outcome == ImageStatus.TAGGED
    (forced,) = _tag_events(caplog)
    assert forced.tagging_forced == "true" and " forced=true" in forced.getMessage()
    assert forced.tagging_latency_ms == _stored_latency_ms(storage, "latency", image_id) >= tagged.tagging_latency_ms


def test_poisoned_image_logs_upload_to_failed_latency(services, storage, caplog):
    upload, tagger, _ = services
    caplog.set_level(logging.INFO, logger="tagging.services.tagging")
    image_id = _upload(upload, "latency-poison")
    caplog.clear()
    assert tagger.mark_poisoned(_message("latency-poison", image_id), dequeue_count=5).outcome == ImageStatus.FAILED
    (failed,) = _tag_events(caplog)
    assert (failed.tagging_outcome, failed.tagging_reason) == (ImageStatus.FAILED, "processing_failed")
    assert 0 <= failed.tagging_latency_ms < 60_000
    assert failed.tagging_latency_ms == _stored_latency_ms(storage, "latency-poison", image_id)
    assert not hasattr(failed, "tagging_forced")
