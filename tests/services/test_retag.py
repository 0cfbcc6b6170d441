"""Re-tagging against a real Azurite: jobs through the real queue, progress like a
batch, analysis versions, idempotency, duplicate deliveries, failures that keep the
previous tags. The tagger runs a test double of the text analyser (its words change
between runs, as improved analysers' would)."""
from __future__ import annotations

import contextlib

import pytest
from azure.core.exceptions import ResourceNotFoundError

from tagging.adapters.queues import decode_request
from tagging.core.analysis.facts import FactsAnalyser
from tagging.core.keys import user_key
from tagging.core.vocabulary import ImageStatus
from tagging.services.errors import ServiceError
from tagging.services.query import QueryService
from tagging.services.retag import RetagService, parse_outdated
from tagging.services.tagging import TagService
from tagging.services.upload import IncomingFile, UploadService
from tagging.settings import get_settings
from tests.support.analysers import ReadingDouble, photo_with


@pytest.fixture
def reading():
    return ReadingDouble()


class Kit:
    def __init__(self, storage, queue, reading) -> None:
        settings = get_settings()
        self.storage, self.queue, self.reading = storage, queue, reading
        self.upload = UploadService(settings, storage)
        self.query = QueryService(settings, storage)
        self.tagger_v1 = TagService(settings, storage, [FactsAnalyser(), reading], analysis_version="1")
        self.tagger_v2 = TagService(settings, storage, [FactsAnalyser(), reading], analysis_version="2")
        self.retag_v2 = RetagService(settings, storage, analysis_version="2")

    def tagged(self, user: str, text: str = "old words") -> str:
        result = self.upload.upload(user_key(user), [IncomingFile("p.jpg", photo_with(text))], None)
        self.deliver(self.tagger_v1)
        return result.images[0]["id"]

    def messages(self) -> list[bytes]:
        """Receive and delete every message now queued (bodies)."""
        bodies = []
        while True:
            batch = list(self.queue.receive_messages(max_messages=32, visibility_timeout=30))
            if not batch:
                return bodies
            for message in batch:
                bodies.append(message.content)
                self.queue.delete_message(message)

    def deliver(self, tagger: TagService, bodies: list[bytes] | None = None) -> list[str]:
        return [
            tagger.process(decode_request(body)).outcome for body in (self.messages() if bodies is None else bodies)
        ]


@pytest.fixture
def kit(storage, host, reading):
    with contextlib.suppress(ResourceNotFoundError):  # the first test of a session: no queue yet
        host.queue().clear_messages()
    yield Kit(storage, host.queue(), reading)
    host.queue().clear_messages()


def test_retag_one_image_through_the_queue_with_progress_and_a_new_version(kit):
    key = user_key("rt-one")
    image = kit.tagged("rt-one", "old sign")
    before = kit.query.get_image(key, image)
    assert before["analysis_version"] == "1"
    job = kit.retag_v2.retag_image(key, image).answer
    assert (job["scope"], job["total"], job["analysis_version"]) == ("image", 1, "2")
    pending = kit.retag_v2.get_job(key, job["retag_id"])
    assert (pending["queued"], pending["done"], pending["images"][0]["id"]) == (1, False, image)
    bodies = kit.messages()
    assert len(bodies) == 1 and decode_request(bodies[0]).retag_id == job["retag_id"]
    kit.reading.override = "new sign"
    assert kit.deliver(kit.tagger_v2, bodies) == [ImageStatus.TAGGED]
    done = kit.retag_v2.get_job(key, job["retag_id"])
    assert (done["tagged"], done["queued"], done["failed"], done["done"]) == (1, 0, 0, True)
    after = kit.query.get_image(key, image)
    assert after["analysis_version"] == "2" and after["facts"]["text"]["words"] == ["new", "sign"]
    assert after["url"] and kit.storage.blobs.original_exists(key, image)  # the original stays
    assert sorted(kit.storage.words.row_keys(key)) == [f"new|{image}", f"sign|{image}"]


def test_a_duplicate_delivery_changes_nothing(kit):
    key = user_key("rt-dup")
    image = kit.tagged("rt-dup")
    kit.retag_v2.retag_image(key, image)
    bodies = kit.messages()
    kit.reading.override = "first run"
    assert kit.deliver(kit.tagger_v2, bodies) == [ImageStatus.TAGGED]
    first = kit.storage.images.get(key, image)
    rows = sorted(kit.storage.words.row_keys(key))
    kit.reading.override = "would differ"  # a second analysis would show
    assert kit.deliver(kit.tagger_v2, bodies) == ["skipped"]
    assert kit.storage.images.get(key, image) == first and sorted(kit.storage.words.row_keys(key)) == rows


def test_a_second_job_while_one_is_pending_does_no_second_analysis(kit):
    key = user_key("rt-twice")
    image = kit.tagged("rt-twice")
    first = kit.retag_v2.retag_image(key, image).answer["retag_id"]
    second = kit.retag_v2.retag_image(key, image).answer["retag_id"]
    assert first != second
    assert kit.deliver(kit.tagger_v2) == [ImageStatus.TAGGED, "skipped"]
    for job in (first, second):
        assert kit.retag_v2.get_job(key, job)["tagged"] == 1


def test_idempotency_key_answers_the_same_job_and_queues_nothing_new(kit):
    key = user_key("rt-idem")
    image = kit.tagged("rt-idem")
    first = kit.retag_v2.retag_image(key, image, idempotency_key="k-1")
    again = kit.retag_v2.retag_image(key, image, idempotency_key="k-1")
    assert again.replayed and again.answer == first.answer and not first.replayed
    assert len(kit.messages()) == 1
    with pytest.raises(ServiceError) as caught:
        kit.retag_v2.retag_all(key, False, idempotency_key="k-1")
    assert caught.value.code == "idempotency_conflict"


def test_retag_all_and_only_outdated(kit):
    key = user_key("rt-all")
    images = [kit.tagged("rt-all", f"word{n}") for n in range(3)]
    queued = kit.upload.upload(key, [IncomingFile("q.jpg", photo_with("pending"))], None).images[0]["id"]
    # One image is re-tagged by version 2 already; one is still queued (left out).
    kit.retag_v2.retag_image(key, images[0])
    kit.deliver(kit.tagger_v2, [b for b in kit.messages() if decode_request(b).image_id != queued])
    assert kit.storage.images.get(key, queued).status == "queued"
    outdated = kit.retag_v2.retag_all(key, outdated=True).answer
    assert (outdated["scope"], outdated["total"]) == ("outdated", 2)
    progress = kit.retag_v2.get_job(key, outdated["retag_id"])
    assert sorted(i["id"] for i in progress["images"]) == sorted(images[1:])
    everything = kit.retag_v2.retag_all(key, outdated=False).answer
    assert (everything["scope"], everything["total"]) == ("all", 3)
    outcomes = kit.deliver(kit.tagger_v2)
    # The outdated job re-tags two; the "all" job finds those fresh and re-tags only images[0]
    # (re-tagged before the job was made).
    assert sorted(outcomes) == sorted(
        [ImageStatus.TAGGED, ImageStatus.TAGGED, ImageStatus.TAGGED, "skipped", "skipped"]
    )
    assert kit.retag_v2.get_job(key, everything["retag_id"])["tagged"] == 3
    assert {kit.storage.images.get(key, i).analysis_version for i in images} == {"2"}


def test_a_retag_that_cannot_finish_keeps_the_previous_tags(kit):
    key = user_key("rt-fail")
    image = kit.tagged("rt-fail", "keep me")
    before = kit.storage.images.get(key, image)
    job = kit.retag_v2.retag_image(key, image).answer["retag_id"]
    # The original is gone (e.g. aged out by the retention rule) before the re-tag runs.
    _delete_original(kit, key, image)
    assert kit.deliver(kit.tagger_v2) == ["failed"]
    progress = kit.retag_v2.get_job(key, job)
    assert (progress["failed"], progress["done"]) == (1, True)
    assert progress["images"][0]["error"]["code"] == "blob_missing"
    after = kit.storage.images.get(key, image)
    after_fields = (after.status, after.tags, after.analysis_version, after.facts)
    assert after_fields == (ImageStatus.TAGGED, before.tags, "1", before.facts)
    assert kit.query.list_images(key, None, None, None, text="keep")["images"][0]["id"] == image


def _delete_original(kit, key: str, image: str) -> None:
    names = [b.name for b in kit.storage.blobs._service.get_container_client(get_settings().images_container)
             .list_blobs(name_starts_with=f"{key}/")]  # fmt: skip
    target = [n for n in names if image in n]
    assert len(target) == 1
    kit.storage.blobs._service.get_container_client(get_settings().images_container).delete_blob(target[0])


def test_unknown_queued_and_other_users_images(kit):
    key = user_key("rt-errors")
    with pytest.raises(ServiceError) as caught:
        kit.retag_v2.retag_image(key, "9999999999999aaaaaa-000")
    assert caught.value.code == "not_found"
    image = kit.tagged("rt-errors")
    with pytest.raises(ServiceError) as caught:
        kit.retag_v2.retag_image(user_key("rt-someone-else"), image)
    assert caught.value.code == "not_found"
    queued = kit.upload.upload(key, [IncomingFile("q.jpg", photo_with())], None).images[0]["id"]
    with pytest.raises(ServiceError) as caught:
        kit.retag_v2.retag_image(key, queued)
    assert caught.value.code == "image_queued"
    job = kit.retag_v2.retag_image(key, image).answer["retag_id"]
    with pytest.raises(ServiceError) as caught:
        kit.retag_v2.get_job(user_key("rt-someone-else"), job)
    assert caught.value.code == "not_found"
    with pytest.raises(ServiceError):
        kit.retag_v2.get_job(key, "rnot-an-id")
    assert (parse_outdated(None), parse_outdated("true"), parse_outdated("false")) == (False, True, False)
    with pytest.raises(ServiceError):
        parse_outdated("yes")


def test_a_poisoned_retag_message_marks_its_row_failed_and_keeps_the_image(kit):
    key = user_key("rt-poison")
    image = kit.tagged("rt-poison")
    before = kit.storage.images.get(key, image)
    job = kit.retag_v2.retag_image(key, image).answer["retag_id"]
    (body,) = kit.messages()
    kit.tagger_v2.mark_poisoned(decode_request(body))
    progress = kit.retag_v2.get_job(key, job)
    assert progress["images"][0]["status"] == "failed" and progress["images"][0]["error"]["code"] == "processing_failed"
    assert kit.storage.images.get(key, image) == before
