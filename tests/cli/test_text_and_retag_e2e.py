"""Text search and re-tagging end to end: the CLI and plain HTTP against the real app
served by the runner on Azurite, its tagger running the text/face test doubles
(tests/support/analysers.py), messages through the real queue."""
from __future__ import annotations

import json
import time

import pytest
import requests
from azure.storage.queue import BinaryBase64EncodePolicy, QueueClient

from tagging.adapters.queues import encode_request
from tagging.core.keys import user_key
from tagging.core.records import TagRequest
from tests.cli.conftest import run_cli
from tests.support.analysers import photo_with
from tests.support.app_server import READING_APP, start_app

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def app(azurite):
    runner = start_app(azurite.connection_string, "readcli", default_user="", app_dir=READING_APP)
    yield runner
    runner.ensure_stopped()


def cli(app, user: str, *args: str):
    return run_cli(*args, env={"TAGGING_URL": app.base, "TAGGING_USER": user}, timeout=180)


def api(app, user: str, method: str, path: str, **kwargs) -> requests.Response:
    headers = {"X-MS-CLIENT-PRINCIPAL-ID": user, **kwargs.pop("headers", {})}
    return requests.request(method, app.url(f"/api/{path}"), headers=headers, timeout=30, **kwargs)


def stored(image: dict) -> dict:
    """An image as stored: its answer without the SAS URLs (signed anew over time)."""
    return {k: v for k, v in image.items() if k not in ("url", "thumbnail_url")}


def wait_queue_empty(app, azurite, timeout: float = 60) -> None:
    """Until the app's tag queue holds no message (visible or being processed)."""
    queue = QueueClient.from_connection_string(azurite.connection_string, app.env["TAGGING_QUEUE"])
    deadline = time.monotonic() + timeout
    while queue.get_queue_properties().approximate_message_count:
        assert time.monotonic() < deadline, "the queue did not drain"
        time.sleep(0.25)


@pytest.fixture
def uploaded(app, tmp_path):
    """Two photos uploaded and tagged through the CLI: {filename: image id}."""
    (tmp_path / "sign.jpg").write_bytes(photo_with("Exit only | Platform 9", "0.1,0.2,0.2,0.3,0.9"))
    (tmp_path / "menu.jpg").write_bytes(photo_with("Lunch menu | open daily", size=(300, 400)))
    user = f"e2e-{time.monotonic_ns()}"
    done = cli(app, user, "upload", str(tmp_path), "--wait", "--json")
    assert done.code == 0, done.stderr
    files = json.loads(done.stdout)["files"]
    assert {f["status"] for f in files} == {"tagged"}
    return user, {f["filename"]: f["id"] for f in files}


def test_search_text_through_the_cli_and_http(app, uploaded):
    user, ids = uploaded
    found = cli(app, user, "search", "--text", "EXIT", "--json")
    assert found.code == 0, found.stderr
    assert [i["id"] for i in json.loads(found.stdout)["images"]] == [ids["sign.jpg"]]
    both = cli(app, user, "search", "--text", "open menu")
    assert both.code == 0 and ids["menu.jpg"] in both.stdout and ids["sign.jpg"] not in both.stdout
    combined = cli(app, user, "search", "person", "--text", "exit", "--json")
    assert [i["id"] for i in json.loads(combined.stdout)["images"]] == [ids["sign.jpg"]]
    assert json.loads(cli(app, user, "search", "person", "--text", "menu", "--json").stdout)["images"] == []
    page = api(app, user, "GET", "images", params={"text": "platform", "limit": "1"}).json()
    assert page["text"] == ["platform"] and [i["id"] for i in page["images"]] == [ids["sign.jpg"]]
    bad = api(app, user, "GET", "images", params={"text": "!"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_text"
    # Another user finds nothing of this one's.
    assert api(app, "someone-else", "GET", "images", params={"text": "exit"}).json()["images"] == []


def test_retag_one_and_all_with_progress_idempotency_and_duplicate_delivery(app, azurite, uploaded):
    user, ids = uploaded
    sign = ids["sign.jpg"]
    before = api(app, user, "GET", f"images/{sign}").json()
    assert before["analysis_version"] == "1"

    # HTTP: the same Idempotency-Key answers the same job and queues nothing new.
    first = api(app, user, "POST", f"images/{sign}/retag", headers={"Idempotency-Key": "retag-e2e-1"})
    assert first.status_code == 202 and first.headers["Location"] == f"/api/retags/{first.json()['retag_id']}"
    again = api(app, user, "POST", f"images/{sign}/retag", headers={"Idempotency-Key": "retag-e2e-1"})
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    job = first.json()["retag_id"]
    deadline = time.monotonic() + 60
    while not (progress := api(app, user, "GET", f"retags/{job}").json())["done"]:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert (progress["total"], progress["tagged"], progress["failed"]) == (1, 1, 0)
    after = api(app, user, "GET", f"images/{sign}").json()
    assert after["tagged_at"] > before["tagged_at"] and after["facts"]["text"] == before["facts"]["text"]

    # A duplicate delivery of the job's message changes nothing.
    queue = QueueClient.from_connection_string(
        azurite.connection_string, app.env["TAGGING_QUEUE"], message_encode_policy=BinaryBase64EncodePolicy()
    )
    queue.send_message(encode_request(TagRequest(user_key(user), sign, retag_id=job)))
    wait_queue_empty(app, azurite)
    assert stored(api(app, user, "GET", f"images/{sign}").json()) == stored(after)
    assert api(app, user, "GET", f"retags/{job}").json() == progress

    # CLI: all images, waiting with progress; then only outdated ones (none now).
    everything = cli(app, user, "retag", "--all", "--wait", "--json")
    assert everything.code == 0, everything.stderr
    state = json.loads(everything.stdout)
    assert (state["scope"], state["total"], state["tagged"], state["done"]) == ("all", 2, 2, True)
    human = cli(app, user, "retag", sign, "--wait")
    assert human.code == 0 and "1 re-tagged, 0 failed, 0 queued of 1 (analysis version 1)" in human.stdout
    outdated = cli(app, user, "retag", "--outdated", "--json")
    assert outdated.code == 0 and json.loads(outdated.stdout)["total"] == 0
    shown = cli(app, user, "show", sign)
    assert "analysis:     version 1" in shown.stdout

    # Errors: unknown image 404 (exit 1), unknown job 404.
    missing = cli(app, user, "retag", "9999999999999aaaaaa-000")
    assert missing.code == 1 and "not_found" in missing.stderr + missing.stdout
    assert api(app, user, "GET", "retags/r9999999999999aaaaaa").status_code == 404
