"""The orphan sweeper against Azurite: each orphan is made by stopping a process between
two writes, then the indexed ``sweep_orphans`` function runs and the image ends tagged.

Every test here uses its own container, tables and queue (the sweep scans whole
tables and containers), so nothing the other integration tests store is swept.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta

import pytest
from azure.functions.timer import TimerRequest
from azure.storage.blob import BlobServiceClient

from tagging.core.keys import batch_of, user_key
from tagging.core.records import ImageRecord
from tests.support.host import Host, body_json
from tests.support.host_process import private_storage

from ..conftest import ROOT

PHOTO = (ROOT / "tests" / "fixtures" / "photos" / "chelsea.png").read_bytes()

# The real upload path in a process that is SIGKILLed right after the blob write, when
# it is about to send the message (write 2 of 3): what a crash there leaves behind.
CRASHING_UPLOAD = textwrap.dedent(
    """
    import os, signal, sys
    from tagging.adapters import get_storage
    from tagging.core.keys import user_key
    from tagging.services.upload import IncomingFile, UploadService
    from tagging.settings import get_settings

    storage = get_storage(get_settings())

    def die_before_sending(request):
        print(request.user_key, request.image_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    storage.queue.send = die_before_sending
    files = [IncomingFile("cat.png", open(sys.argv[2], "rb").read())]
    UploadService(get_settings(), storage).upload(user_key(sys.argv[1]), files, None)
    """
)


def _put_original(storage, user: str, image_id: str) -> None:  # type: ignore[no-untyped-def]
    """Write 1 of an upload's 3 (the original, with its metadata), as a dying upload would."""
    storage.blobs.put_original(
        ImageRecord(user, image_id, batch_of(image_id), "p.png", "image/png", len(PHOTO), ""), PHOTO
    )


@pytest.fixture
def sweep_host(app_env, functions, monkeypatch):
    """A Host on private storage names, with the sweep's grace and stuck limits at 0."""
    from tagging.bindings import _services, sweeper

    names = private_storage("sweep")
    for name, value in {**names, "TAGGING_SWEEP_GRACE_SECONDS": "0", "TAGGING_SWEEP_STUCK_SECONDS": "0"}.items():
        monkeypatch.setenv(name, value)
    _services.reset()
    sweeper._sweeper.cache_clear()
    host = Host(functions, app_env.connection_string, names["TAGGING_QUEUE"])
    host.queue().create_queue()
    yield host
    monkeypatch.undo()
    _services.reset()
    sweeper._sweeper.cache_clear()


def sweep(host: Host, past_due: bool = False) -> None:
    host.user_function("sweep_orphans")(TimerRequest(past_due=past_due))


def image(host: Host, image_id: str, user: str) -> dict:
    return body_json(host.http("get_image", "GET", f"images/{image_id}", user=user, route_params={"id": image_id}))


def test_upload_killed_after_the_blob_write_is_requeued_and_tagged(sweep_host, storage, tmp_path, caplog):
    from tagging.adapters import get_storage
    from tagging.settings import get_settings

    photo = tmp_path / "cat.png"
    photo.write_bytes(PHOTO)
    done = subprocess.run([sys.executable, "-c", CRASHING_UPLOAD, "crashed", str(photo)], cwd=ROOT,
                          env=dict(os.environ), capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    user, image_id = done.stdout.split()
    storage = get_storage(get_settings())
    assert storage.blobs.original_exists(user, image_id)  # write 1 happened
    assert storage.images.find(user, image_id) is None  # write 3 did not
    assert sweep_host.queue().peek_messages() == []  # nor write 2
    assert image(sweep_host, image_id, "crashed")["error"]["code"] == "not_found"

    with caplog.at_level(logging.INFO, logger="tagging.services.sweeper"):
        sweep(sweep_host)
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("sweep "))
    assert "requeued=1 " in line and "removed=0 " in line and "scanned=1 " in line and "duration_ms=" in line

    assert sweep_host.drain() == 1
    shown = image(sweep_host, image_id, "crashed")
    assert shown["status"] == "tagged" and "cat" in {t["name"] for t in shown["tags"]}
    assert shown["filename"] == "cat.png"  # rebuilt from the blob's metadata
    # Idempotent: nothing left to do.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tagging.services.sweeper"):
        sweep(sweep_host)
    assert sweep_host.queue().peek_messages() == []
    assert any("sweep requeued=0 " in r.getMessage() for r in caplog.records)


def test_a_queued_record_whose_message_was_lost_is_requeued_and_tagged(sweep_host):
    response = sweep_host.http("upload_images", "POST", "images", user="lost", params={"filename": "cat.png"},
                               headers={"Content-Type": "image/png"}, body=PHOTO)  # fmt: skip
    assert response.status_code == 202
    image_id = body_json(response)["images"][0]["id"]
    sweep_host.queue().clear_messages()  # the message is lost
    assert image(sweep_host, image_id, "lost")["status"] == "queued"

    sweep(sweep_host)
    assert sweep_host.drain() == 1
    assert image(sweep_host, image_id, "lost")["status"] == "tagged"
    sweep(sweep_host)
    assert sweep_host.drain() == 0  # tagged: not stuck any more


def test_what_nothing_can_name_is_removed_and_recent_uploads_are_left_alone(sweep_host, app_env):
    from tagging.adapters import get_storage
    from tagging.services.sweeper import SweepService
    from tagging.settings import get_settings

    settings = get_settings()
    storage = get_storage(settings)
    container = BlobServiceClient.from_connection_string(app_env.connection_string).get_container_client(
        settings.images_container)  # fmt: skip
    if not container.exists():
        container.create_container()
    container.upload_blob("stray/notes.txt", b"not an image")
    user = user_key("recent")
    _put_original(storage, user, "8000000000000abcdef-000")

    service = SweepService(settings, storage)
    now = datetime.now(UTC)
    recent = SweepService(settings.__class__(**{**settings.__dict__, "sweep_grace_seconds": 600}), storage,
                          clock=lambda: now + timedelta(seconds=1))  # fmt: skip
    assert recent.sweep().scanned == 0  # both are younger than the grace period
    result = service.sweep()
    assert (result.removed, result.requeued_orphans, result.scanned, result.complete) == (1, 1, 2, True)
    assert not container.get_blob_client("stray/notes.txt").exists()


def test_each_run_is_bounded_and_the_next_one_resumes(sweep_host, app_env):
    """Pages of ``sweep_max_items``; the stored position moves the next run on."""
    from tagging.adapters import get_storage
    from tagging.services.sweeper import SweepService
    from tagging.settings import get_settings

    settings = get_settings()
    storage = get_storage(settings)
    user = user_key("many")
    ids = [f"800000000000{n}abcdef-000" for n in range(5)]
    for image_id in ids:
        _put_original(storage, user, image_id)
    bounded = SweepService(settings.__class__(**{**settings.__dict__, "sweep_max_items": 2}), storage)
    runs = [bounded.sweep() for _ in range(3)]
    assert [r.requeued_orphans for r in runs] == [2, 2, 1]
    assert [r.complete for r in runs] == [False, False, True]
    sent = [json.loads(m.content)["image"] for m in sweep_host.queue().peek_messages(max_messages=32)]
    assert sorted(sent) == sorted(ids)


# One sweep run in a process of its own (a new instance, as Flex Consumption starts
# them): prints the image ids it re-queued, in order, then "complete" or "partial". With
# "die" it is SIGKILLed after handling its page, when it is about to store the position.
SWEEP_IN_A_NEW_PROCESS = textwrap.dedent(
    """
    import json, os, signal, sys
    from tagging.adapters import get_storage
    from tagging.services.sweeper import SweepService
    from tagging.settings import get_settings

    storage = get_storage(get_settings())
    sent = []
    send = storage.queue.send
    storage.queue.send = lambda request: (sent.append(request.image_id), send(request))
    if sys.argv[1:] == ["die"]:
        def die_before_storing(*args):
            print(json.dumps(sent), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        storage.sweep_state.advance = die_before_storing
    result = SweepService(get_settings(), storage).sweep()
    print(json.dumps(sent), "complete" if result.complete else "partial", flush=True)
    """
)


def sweep_in_a_new_process(*args: str) -> tuple[list[str], str]:
    """(ids re-queued, "complete" / "partial" / "killed") of one run, pages of 2."""
    env = {**os.environ, "TAGGING_SWEEP_MAX_ITEMS": "2"}
    done = subprocess.run([sys.executable, "-c", SWEEP_IN_A_NEW_PROCESS, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    if done.returncode == -signal.SIGKILL:
        return json.loads(done.stdout), "killed"
    assert done.returncode == 0, done.stderr
    sent, outcome = done.stdout.rsplit(" ", 1)
    return json.loads(sent), outcome.strip()


def five_orphans() -> list[str]:
    """Five originals with no record, in listing (name) order."""
    from tagging.adapters import get_storage
    from tagging.settings import get_settings

    storage = get_storage(get_settings())
    ids = [f"800000000000{n}abcdef-000" for n in range(5)]
    for image_id in ids:
        _put_original(storage, user_key("many"), image_id)
    return ids


def test_each_run_in_a_new_process_continues_where_the_last_one_stopped_and_the_end_wraps(sweep_host):
    """The position is stored, not kept by a process: what scale to zero and many instances need."""
    ids = five_orphans()
    runs = [sweep_in_a_new_process() for _ in range(4)]
    assert runs == [(ids[0:2], "partial"), (ids[2:4], "partial"), (ids[4:5], "complete"), (ids[0:2], "partial")]


def test_a_run_killed_before_storing_its_position_is_redone_not_skipped(sweep_host):
    ids = five_orphans()
    assert sweep_in_a_new_process() == (ids[0:2], "partial")
    assert sweep_in_a_new_process("die") == (ids[2:4], "killed")  # handled its page, stored nothing
    assert sweep_in_a_new_process() == (ids[2:4], "partial")  # the same page again
    assert sweep_in_a_new_process() == (ids[4:5], "complete")


class SweepsFirst:
    """The real tag queue, running ``meanwhile`` once, before its first send: a run that
    overlaps others while it handles its page."""

    def __init__(self, queue, meanwhile) -> None:  # type: ignore[no-untyped-def]
        self._queue, self._meanwhile = queue, meanwhile

    def send(self, request) -> None:  # type: ignore[no-untyped-def]
        meanwhile, self._meanwhile = self._meanwhile, None
        if meanwhile:
            meanwhile()
        self._queue.send(request)


def test_a_run_overlapped_by_faster_ones_does_not_move_the_position_back(sweep_host, caplog):
    """Two runs at once (the host keeps the timer a singleton; this is in case): the slow
    one started from where the fast ones began, so its position would undo theirs (ETag)."""
    from dataclasses import replace

    from tagging.adapters import get_storage
    from tagging.services.sweeper import SweepService
    from tagging.settings import get_settings

    ids = five_orphans()
    settings = replace(get_settings(), sweep_max_items=2)
    storage = get_storage(settings)
    fast = SweepService(settings, storage)
    fast_runs = []
    slow = SweepService(settings, replace(storage, queue=SweepsFirst(storage.queue, lambda: fast_runs.extend(
        [fast.sweep(), fast.sweep()]))))  # fmt: skip
    with caplog.at_level(logging.INFO, logger="tagging.services.sweeper"):
        slow_run = slow.sweep()
    assert slow_run.requeued_orphans == 2 and [r.requeued_orphans for r in fast_runs] == [2, 2]
    assert any(r.getMessage().startswith("sweep_position_kept ") for r in caplog.records)
    after = fast.sweep()  # from where the fast runs left it (page 3), not page 2 as the slow one would store
    assert (after.requeued_orphans, after.complete, after.resumed) == (1, True, True)
    sent = [json.loads(m.content)["image"] for m in sweep_host.queue().receive_messages(max_messages=32)]
    assert sorted(sent) == sorted(ids[0:2] * 2 + ids[2:4] + ids[4:5])  # page 1 twice, nothing skipped


def test_the_stored_position_is_replaced_only_at_the_version_read(sweep_host):
    from tagging.adapters import get_storage
    from tagging.settings import get_settings

    state = get_storage(get_settings()).sweep_state
    now = datetime.now(UTC)
    start = state.read()
    assert (start.continuation, start.etag) == (None, None)
    assert state.advance(start, "page-2", now) is True
    assert state.advance(start, "other", now) is False  # a second first writer: the row exists
    second = state.read()
    assert second.continuation == "page-2" and second.etag
    assert state.advance(second, "page-3", now) is True
    assert state.advance(second, "stale", now) is False  # changed since `second` was read
    third = state.read()
    assert third.continuation == "page-3"
    assert state.advance(third, None, now) is True  # the end: back to the first blob
    assert state.read().continuation is None


def test_idempotency_rows_past_twice_their_lifetime_are_deleted(sweep_host):
    """Table Storage has no TTL: the sweep deletes Idempotency rows older than 48 h."""
    from tagging.adapters import IdempotencyRecord, get_storage
    from tagging.services.sweeper import IDEMPOTENCY_PRUNE_AGE
    from tagging.settings import get_settings

    storage = get_storage(get_settings())
    now = datetime.now(UTC)
    user = user_key("keys")

    def claim(key_hash: str, age: timedelta) -> None:
        created = now - age
        storage.idempotency.insert(
            IdempotencyRecord(
                user, key_hash, "f" * 64, created, created, "8000000000000abcdef", "2026-01-01T00:00:00.000Z"
            )
        )

    claim("old", IDEMPOTENCY_PRUNE_AGE + timedelta(minutes=5))
    claim("recent", IDEMPOTENCY_PRUNE_AGE - timedelta(hours=1))
    sweep(sweep_host)
    assert storage.idempotency.find(user, "old") is None
    assert storage.idempotency.find(user, "recent") is not None
