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
