"""Idempotency-Key on POST /api/images, through the real function against Azurite:
a retry gets the first answer and stores nothing new, a different request with the key
is a 409, keys are per user and forgotten after 24 hours, concurrent duplicates store
one image, and an attempt that died (after claiming, or after writing but before its
answer was stored) is finished by a retry under the same ids, never duplicated. Keys
are scoped per operation: the same key on an upload and on a re-tag are two requests."""
from __future__ import annotations

import secrets
import threading
from dataclasses import replace
from datetime import UTC, timedelta

import pytest

from tagging.adapters import StorageUnavailable
from tagging.adapters.idempotency import IdempotencyRecord, IdempotencyTable, key_row
from tagging.bindings import _services
from tagging.core.keys import user_key
from tagging.core.vocabulary import IdempotentOperation, RetagScope
from tagging.services import idempotency
from tagging.services.idempotency import Idempotency
from tagging.settings import get_settings
from tests.support import images
from tests.support.host import body_json, multipart
from tests.support.storage import leftovers

KEY = "Idempotency-Key"
UPLOAD, RETAG = IdempotentOperation.UPLOAD, IdempotentOperation.RETAG


@pytest.fixture
def me(host) -> str:
    yield "idem-" + secrets.token_hex(4)
    host.queue().clear_messages()


def post(host, user: str, key: str | None, data: bytes, filename: str = "photo.jpg", ctype: str = "image/jpeg"):
    headers = {"Content-Type": ctype} | ({KEY: key} if key is not None else {})
    return host.http("upload_images", "POST", "images", user=user, headers=headers, params={"filename": filename},
                     body=data)  # fmt: skip


def answer(response) -> tuple[int, dict, str | None]:
    return response.status_code, body_json(response), response.headers.get("Location")


def stored(storage, host, user: str) -> dict[str, int]:
    counts = leftovers(storage, user, host.queue())
    return {k: counts[k] for k in ("originals", "images", "batches", "messages")}


def backdate(storage, user: str, key: str, **fields: timedelta) -> IdempotencyRecord:
    """Move the key's timestamps into the past (``created_at=timedelta(...)``, ...)."""
    record = storage.idempotency.find(user_key(user), key_row(key, UPLOAD))
    return storage.idempotency.replace_if_unchanged(
        replace(record, **{name: getattr(record, name) - delta for name, delta in fields.items()})
    )


def test_the_same_key_twice_gives_the_first_answer_and_stores_one_image(host, storage, me):
    photo = images.photo_like((160, 120))
    first = post(host, me, "key-1", photo)
    assert first.status_code == 202 and KEY not in first.headers
    again = post(host, me, "key-1", photo)
    assert answer(again) == answer(first)
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert stored(storage, host, me) == {"originals": 1, "images": 1, "batches": 1, "messages": 1}
    # Still the same answer once the image is tagged.
    host.drain()
    assert answer(post(host, me, "key-1", photo)) == answer(first)
    assert stored(storage, host, me)["images"] == 1


def test_without_a_key_a_repeat_is_a_new_upload(host, storage, me):
    photo = images.photo_like((160, 120))
    assert post(host, me, None, photo).status_code == post(host, me, None, photo).status_code == 202
    assert stored(storage, host, me)["images"] == 2


def test_the_same_key_with_a_different_request_is_a_409_conflict(host, storage, me):
    photo = images.photo_like((160, 120))
    first = post(host, me, "key-1", photo)
    for other in (
        post(host, me, "key-1", images.solid((1, 2, 3))),  # other bytes
        post(host, me, "key-1", photo, filename="renamed.jpg"),  # other ?filename=
        post(host, me, "key-1", photo, ctype="image/png"),  # other declared type
    ):
        assert other.status_code == 409
        error = body_json(other)["error"]
        assert error["code"] == "idempotency_conflict"
        assert "different upload" in error["message"] and "new key" in error["message"]
        assert "Retry-After" not in other.headers
    assert stored(storage, host, me) == {"originals": 1, "images": 1, "batches": 1, "messages": 1}
    assert answer(post(host, me, "key-1", photo)) == answer(first)


def test_a_multipart_retry_matches_whatever_its_boundary(host, storage, me):
    """Browsers choose a new boundary each time they send a form: the fingerprint is the
    request's meaning (names, types, bytes, metadata), not its bytes."""
    photo = images.photo_like((160, 120))
    files = [("file", "a.jpg", photo, "image/jpeg")]
    body, ctype = multipart(files, {"metadata": '{"album": "x"}'})
    first = post(host, me, "form-1", body, ctype=ctype)
    assert first.status_code == 202
    other_boundary = body.replace(b"taggingtestboundary", b"anotherboundary00000")
    retry = post(host, me, "form-1", other_boundary, ctype=ctype.replace("taggingtestboundary", "anotherboundary00000"))
    assert answer(retry) == answer(first)
    changed, changed_type = multipart(files, {"metadata": '{"album": "y"}'})
    assert body_json(post(host, me, "form-1", changed, ctype=changed_type))["error"]["code"] == "idempotency_conflict"
    assert stored(storage, host, me)["images"] == 1


def test_keys_are_per_user(host, storage, me):
    photo = images.photo_like((160, 120))
    other = me + "-other"
    mine, theirs = post(host, me, "shared", photo), post(host, other, "shared", photo)
    assert mine.status_code == theirs.status_code == 202
    assert body_json(mine)["batch_id"] != body_json(theirs)["batch_id"]
    assert "Idempotent-Replayed" not in theirs.headers
    assert stored(storage, host, me)["images"] == stored(storage, host, other)["images"] == 1


def test_a_key_older_than_24_hours_starts_a_new_upload(host, storage, me):
    photo = images.photo_like((160, 120))
    first = body_json(post(host, me, "old", photo))
    backdate(storage, me, "old", created_at=idempotency.REMEMBER + timedelta(seconds=1))
    second = post(host, me, "old", photo)
    assert second.status_code == 202 and "Idempotent-Replayed" not in second.headers
    assert body_json(second)["batch_id"] != first["batch_id"]
    assert stored(storage, host, me)["images"] == 2
    # The new answer is the one remembered now; even a different request is a conflict again.
    assert answer(post(host, me, "old", photo))[1] == body_json(second)
    assert post(host, me, "old", images.solid()).status_code == 409


@pytest.mark.parametrize("key", ["", "x" * 201, "clé", "tab\there", "line\x7f"])
def test_an_unusable_key_is_a_400_and_stores_nothing(host, storage, me, key):
    response = post(host, me, key, images.photo_like((160, 120)))
    assert response.status_code == 400
    error = body_json(response)["error"]
    assert error["code"] == "invalid_idempotency_key" and "1 to 200 printable ASCII" in error["message"]
    assert stored(storage, host, me) == {"originals": 0, "images": 0, "batches": 0, "messages": 0}


def test_any_printable_ascii_key_up_to_200_characters_works(host, storage, me):
    photo = images.photo_like((160, 120))
    for key in ("a/b\\c#d?e%f 'g\"", "~" * 200, "550e8400-e29b-41d4-a716-446655440000"):
        first = post(host, me, key, photo)
        assert first.status_code == 202, body_json(first)
        assert answer(post(host, me, key, photo)) == answer(first)
    assert stored(storage, host, me)["images"] == 3


def test_a_refused_request_is_not_remembered(host, storage, me):
    """A 4xx for the request as a whole stores nothing, the key included: the same key
    then works for a good request."""
    refused = post(host, me, "k", b"not an image")
    assert refused.status_code == 415
    assert storage.idempotency.find(user_key(me), key_row("k", UPLOAD)) is None
    assert post(host, me, "k", images.photo_like((160, 120))).status_code == 202


def test_concurrent_duplicates_store_one_image(host, storage, me):
    photo = images.photo_like((320, 240))
    barrier = threading.Barrier(8)
    responses = []

    def send() -> None:
        barrier.wait()
        responses.append(post(host, me, "burst", photo))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted = [answer(r) for r in responses if r.status_code == 202]
    busy = [r for r in responses if r.status_code == 409]
    assert len(accepted) + len(busy) == 8 and accepted
    assert all(a == accepted[0] for a in accepted)
    for response in busy:
        assert body_json(response)["error"]["code"] == "idempotency_in_progress"
        assert response.headers["Retry-After"] == str(idempotency.IN_PROGRESS_RETRY_AFTER_SECONDS)
    assert stored(storage, host, me) == {"originals": 1, "images": 1, "batches": 1, "messages": 1}
    assert answer(post(host, me, "burst", photo)) == accepted[0]


def test_a_claim_whose_process_died_blocks_retries_until_its_lease_runs_out(host, storage, me):
    """The process claimed the key and died before writing: retries are told to wait
    while the lease lasts, then one goes on under the batch id the claim reserved."""
    photo = images.photo_like((160, 120))
    claim = Idempotency(storage.idempotency, UPLOAD, lambda: "9999999999999abcdef").begin(
        user_key(me), "crashed", idempotency.fingerprint(_files(photo), None)
    )
    busy = post(host, me, "crashed", photo)
    assert busy.status_code == 409 and body_json(busy)["error"]["code"] == "idempotency_in_progress"
    assert busy.headers["Retry-After"] == "1"
    backdate(storage, me, "crashed", lease_until=idempotency.LEASE)
    retried = post(host, me, "crashed", photo)
    assert retried.status_code == 202
    assert body_json(retried)["batch_id"] == claim.record.batch_id == "9999999999999abcdef"
    assert stored(storage, host, me) == {"originals": 1, "images": 1, "batches": 1, "messages": 1}


def retag(host, user: str, key: str | None, image_id: str | None = None):
    """POST /api/images/{image_id}/retag, or POST /api/retags without an image."""
    headers = {KEY: key} if key is not None else {}
    if image_id is None:
        return host.http("retag_images", "POST", "retags", user=user, headers=headers)
    return host.http("retag_image", "POST", f"images/{image_id}/retag", user=user, headers=headers,
                     route_params={"id": image_id})  # fmt: skip


def test_a_key_is_scoped_to_its_operation_upload_or_re_tag(host, storage, me):
    """The same key on an upload and on a re-tag names two requests, each replayed on its
    own; reused for another request of the same operation it is still a conflict, and
    the message names that operation."""
    photo = images.photo_like((160, 120))
    uploaded = post(host, me, "shared", photo)
    assert uploaded.status_code == 202
    image_id = body_json(uploaded)["images"][0]["id"]
    host.drain()  # tagged: a re-tag may start

    retagged = retag(host, me, "shared", image_id)
    assert retagged.status_code == 202, body_json(retagged)
    assert body_json(retagged)["retag_id"].startswith("r") and "Idempotent-Replayed" not in retagged.headers
    # Each replays its own first answer.
    assert answer(retag(host, me, "shared", image_id)) == answer(retagged)
    assert answer(post(host, me, "shared", photo)) == answer(uploaded)
    assert stored(storage, host, me)["images"] == 1

    other_retag = body_json(retag(host, me, "shared"))["error"]  # all images, not one
    assert other_retag["code"] == "idempotency_conflict"
    assert "different re-tag" in other_retag["message"] and "upload" not in other_retag["message"]
    other_upload = body_json(post(host, me, "shared", images.solid((1, 2, 3))))["error"]
    assert other_upload["code"] == "idempotency_conflict"
    assert "different upload" in other_upload["message"] and "re-tag" not in other_upload["message"]

    # Used first for a re-tag, a key is free for an upload too.
    first_retag = retag(host, me, "retag-first", image_id)
    assert first_retag.status_code == 202
    assert post(host, me, "retag-first", photo).status_code == 202
    assert answer(retag(host, me, "retag-first", image_id)) == answer(first_retag)
    assert stored(storage, host, me)["images"] == 2


def test_re_tag_messages_name_a_re_tag(host, storage, me):
    photo = images.photo_like((160, 120))
    image_id = body_json(post(host, me, None, photo))["images"][0]["id"]
    host.drain()
    invalid = body_json(retag(host, me, "tab\there", image_id))["error"]
    assert invalid["code"] == "invalid_idempotency_key" and "per re-tag" in invalid["message"]
    from tagging.services.retag import _fingerprint

    Idempotency(storage.idempotency, RETAG, lambda: "r9999999999999abcdef").begin(
        user_key(me), "running", _fingerprint(RetagScope.IMAGE, image_id)
    )  # a re-tag that claimed the key and is still writing
    busy = retag(host, me, "running", image_id)
    assert busy.status_code == 409 and busy.headers["Retry-After"] == "1"
    error = body_json(busy)["error"]
    assert error["code"] == "idempotency_in_progress" and error["message"].startswith("a re-tag with this")


def _as_stored_before_scoping(storage, user: str, row_key: str, legacy_row_key: str) -> None:
    """Move an Idempotency row to ``legacy_row_key`` without its ``Operation``: the
    format rows had before keys were scoped by operation."""
    table = storage.idempotency._table()
    entity = dict(table.get_entity(user, row_key))
    table.delete_entity(user, row_key)
    entity.pop("Operation")
    table.create_entity({**entity, "RowKey": legacy_row_key})


def test_rows_stored_before_keys_were_scoped_still_work(host, storage, me):
    """An upload's row keeps its RowKey and is replayed; a re-tag's row, stored under the
    bare key hash an upload now uses, does not make that upload a 409."""
    photo = images.photo_like((160, 120))
    uploaded = post(host, me, "old-upload", photo)
    _as_stored_before_scoping(storage, user_key(me), key_row("old-upload", UPLOAD), key_row("old-upload", UPLOAD))
    assert answer(post(host, me, "old-upload", photo)) == answer(uploaded)
    assert post(host, me, "old-upload", images.solid((1, 2, 3))).status_code == 409

    image_id = body_json(uploaded)["images"][0]["id"]
    host.drain()
    assert retag(host, me, "old-retag", image_id).status_code == 202
    _as_stored_before_scoping(storage, user_key(me), key_row("old-retag", RETAG), key_row("old-retag", UPLOAD))
    assert storage.idempotency.find(user_key(me), key_row("old-retag", UPLOAD)).operation == RETAG
    again = post(host, me, "old-retag", photo)
    assert again.status_code == 202 and "Idempotent-Replayed" not in again.headers
    assert answer(post(host, me, "old-retag", photo)) == answer(again)
    assert stored(storage, host, me)["images"] == 2


class Died(BaseException):
    """The process dying at a chosen moment (not an Exception: nothing handles it)."""


def test_an_attempt_that_died_after_storing_is_finished_by_a_retry_without_a_duplicate(host, storage, me, monkeypatch):
    """Written (blob, message, entity) but the answer never stored: a retry after the
    lease writes the same keys again, so there is still one image, tagged once."""
    photo = images.photo_like((160, 120))

    def die(self, claim, result):  # type: ignore[no-untyped-def]
        raise Died

    with monkeypatch.context() as patch:
        patch.setattr(Idempotency, "finish", die)
        with pytest.raises(Died):
            post(host, me, "written", photo)
    written = stored(storage, host, me)
    assert written == {"originals": 1, "images": 1, "batches": 1, "messages": 1}
    assert post(host, me, "written", photo).status_code == 409  # the lease still holds
    backdate(storage, me, "written", lease_until=idempotency.LEASE)
    retried = post(host, me, "written", photo)
    assert retried.status_code == 202
    [image] = body_json(retried)["images"]
    # Same image: the extra message is a redelivery the tagger converges on.
    assert stored(storage, host, me) == {"originals": 1, "images": 1, "batches": 1, "messages": 2}
    host.drain()
    record = storage.images.get(user_key(me), image["id"])
    assert record.status == "tagged"
    assert answer(post(host, me, "written", photo)) == answer(retried)


def test_a_failed_attempt_gives_its_lease_back_so_the_retry_goes_on_at_once(host, storage, me, monkeypatch):
    photo = images.photo_like((160, 120))
    queue = _services.upload_service()._storage.queue

    def down(request):  # type: ignore[no-untyped-def]
        raise StorageUnavailable("storage answered 503")

    with monkeypatch.context() as patch:
        patch.setattr(queue, "send", down)
        failed = post(host, me, "outage", photo)
    assert failed.status_code == 503 and failed.headers["Retry-After"]
    claim = storage.idempotency.find(user_key(me), key_row("outage", UPLOAD))
    retried = post(host, me, "outage", photo)
    assert retried.status_code == 202, body_json(retried)
    assert body_json(retried)["batch_id"] == claim.batch_id
    assert stored(storage, host, me) == {"originals": 1, "images": 1, "batches": 1, "messages": 1}


def _files(photo: bytes):  # type: ignore[no-untyped-def]
    from tagging.services.upload import IncomingFile

    return [IncomingFile("photo.jpg", photo, "image/jpeg")]


# -- the table format ------------------------------------------------------------------


def test_a_large_answer_is_stored_in_pieces_and_read_back_whole(app_env):
    table = IdempotencyTable(get_settings())
    from datetime import datetime

    now = datetime.now(UTC).replace(microsecond=0)
    answer_ = {
        "batch_id": "b", "images": [{"id": f"{i:03d}", "filename": "é" * 250} for i in range(100)], "rejected": []
    }
    record = IdempotencyRecord("bdGVzdA", key_row("big", UPLOAD), "f" * 64, now, now, "b", "2024-01-01T00:00:00.000Z")
    claimed = table.insert(record)
    assert claimed is not None and table.insert(record) is None
    table.replace_if_unchanged(replace(claimed, result=answer_))
    found = table.find("bdGVzdA", key_row("big", UPLOAD))
    assert found is not None and found.result == answer_ and found.created_at == now


def test_prune_deletes_only_keys_older_than_the_cutoff(app_env):
    from datetime import datetime

    table = IdempotencyTable(get_settings())
    now = datetime.now(UTC)
    user = "b" + secrets.token_hex(6)
    for name, age in (("old", timedelta(days=3)), ("new", timedelta(hours=1))):
        table.insert(IdempotencyRecord(user, key_row(name, UPLOAD), "f", now - age, now - age, "b", "t"))
    assert table.prune(now - timedelta(days=2)) >= 1
    assert table.find(user, key_row("old", UPLOAD)) is None and table.find(user, key_row("new", UPLOAD)) is not None
