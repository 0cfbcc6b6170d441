"""Faults lose nothing: a killed worker, a storage outage, duplicate delivery."""
from __future__ import annotations

import base64
import time

import pytest
import requests

from tagging.adapters import get_storage
from tagging.adapters.queues import encode_request
from tagging.core.keys import user_key
from tagging.core.records import TagRequest
from tagging.settings import Settings
from tests.faults.conftest import USER, all_images
from tests.support import images
from tests.support.host_process import private_storage
from tools.azurite import Azurite

PHOTO = images.photo_like((1600, 1200), seed=11)


def names(**extra: str) -> dict[str, str]:
    """Private queue, tables and containers for one test, plus ``extra`` settings."""
    return {**private_storage("faults"), **extra}


def upload(base: str, count: int, seed: int = 0) -> list[str]:
    ids = []
    for i in range(count):
        data = images.reencoded(PHOTO, scale=0.5 + (seed + i) % 7 * 0.05, quality=80 + i % 10)
        response = requests.post(f"{base}/api/images", params={"filename": f"{i}.jpg"}, data=data,
                                 headers={"Content-Type": "image/jpeg"}, timeout=60)  # fmt: skip
        assert response.status_code == 202, response.text
        ids.append(response.json()["images"][0]["id"])
    return ids


def wait_settled(base: str, ids: list[str], timeout: float = 120) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = all_images(base)
        if all(i in found and found[i]["status"] != "queued" for i in ids):
            return found
        time.sleep(0.3)
    raise AssertionError(f"not settled within {timeout} s: {[found.get(i, {}).get('status') for i in ids]}")


def index_is_consistent(connection: str, settings: dict[str, str], ids: list[str]) -> None:
    """Every tagged image has exactly one index row per tag, and no other rows exist."""
    storage = get_storage(Settings.from_env({"AzureWebJobsStorage": connection, **settings}))
    key = user_key(USER)
    rows = list(storage.index._range(key, "", "~", None))
    assert len(rows) == len({r["RowKey"] for r in rows})
    expected = set()
    for image_id in ids:
        record = storage.images.get(key, image_id)
        expected |= {f"{t.name}|{image_id}" for t in record.tags}
    assert {r["RowKey"] for r in rows} == expected


def test_worker_killed_mid_batch_loses_nothing(serve, faulty_azurite):
    settings = names()
    first = serve("--lease-seconds", "4", **settings)
    ids = upload(first.base, 24)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill while some, not all, are done
        statuses = [i["status"] for i in all_images(first.base).values()]
        if 0 < statuses.count("tagged") < len(ids):
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"never saw the batch part-done to kill it there: {statuses}")
    first.kill()
    second = serve("--lease-seconds", "4", **settings)
    found = wait_settled(second.base, ids)
    assert [found[i]["status"] for i in ids] == ["tagged"] * len(ids)
    index_is_consistent(faulty_azurite.connection_string, settings, ids)


def test_storage_outage_answers_503_and_loses_nothing_accepted(serve, faulty_azurite, storage_dir):
    settings = names(TAGGING_STORAGE_TIMEOUT_SECONDS="2")
    runner = serve(**settings)
    before = upload(runner.base, 4)
    ports = (faulty_azurite.blob_port, faulty_azurite.queue_port, faulty_azurite.table_port)
    faulty_azurite.stop()
    try:
        response = requests.post(f"{runner.base}/api/images", params={"filename": "down.jpg"}, data=PHOTO,
                                 headers={"Content-Type": "image/jpeg"}, timeout=120)  # fmt: skip
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0
        assert response.json()["error"]["code"] == "storage_unavailable"
        health = requests.get(f"{runner.base}/api/health", timeout=120)
        assert health.status_code == 503 and "Retry-After" in health.headers
        listing = requests.get(f"{runner.base}/api/images", timeout=120)
        assert listing.status_code == 503 and listing.json()["error"]["code"] == "storage_unavailable"
    finally:
        restarted = Azurite.start(ports=ports, location=faulty_azurite.location, log_file=storage_dir / "azurite.log")
        faulty_azurite.process = restarted.process
    after = upload(runner.base, 4, seed=5)
    found = wait_settled(runner.base, before + after)
    assert all(found[i]["status"] == "tagged" for i in before + after)
    assert requests.get(f"{runner.base}/api/health", timeout=30).status_code == 200


def test_same_message_delivered_twice_concurrently_gives_one_result(serve, faulty_azurite):
    settings = names()
    runner = serve(**settings)
    [image_id] = upload(runner.base, 1)
    first_tags = wait_settled(runner.base, [image_id])[image_id]["tags"]
    from azure.storage.queue import QueueClient

    queue = QueueClient.from_connection_string(faulty_azurite.connection_string, settings["TAGGING_QUEUE"])
    body = base64.b64encode(encode_request(TagRequest(user_key(USER), image_id, force=True))).decode()
    for _ in range(4):  # picked up in one batch, so they run at the same time
        queue.send_message(body)
    deadline = time.monotonic() + 30
    while queue.get_queue_properties().approximate_message_count and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    found = all_images(runner.base)
    assert found[image_id]["status"] == "tagged"
    index_is_consistent(faulty_azurite.connection_string, settings, [image_id])
    detail = requests.get(f"{runner.base}/api/images/{image_id}", timeout=30).json()
    assert "duplicate" not in {t["name"] for t in detail["tags"]}  # four runs of one image are not copies
    assert detail["tags"] == first_tags  # re-running changed nothing
