"""The real app through the runner: HTTP in, queue, tagging, HTTP out, against Azurite."""
from __future__ import annotations

import io
import re
import socket
import time
from typing import Any

import pytest
import requests
from PIL import Image

from tests.support.host_process import RunnerProcess, private_storage, runner_env
from tests.support.wait import wait_until
from tools.azurite import Azurite, free_port

from .conftest import ROOT, token

pytestmark = pytest.mark.e2e

PHOTOS = ROOT / "tests" / "fixtures" / "photos"
SETTINGS = ["--settings-file", str(ROOT / "local.settings.json.example")]


def app_env(connection_string: str, **extra: str) -> dict[str, str]:
    """Fresh queue, containers and tables, and a faster poll than the app's host.json."""
    values = {
        **private_storage("e2e"),
        "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.500",
    }
    return runner_env(connection_string, **{**values, **extra})


def photo(colour: tuple[int, int, int], size: tuple[int, int], fmt: str = "JPEG") -> bytes:
    """A real image: a gradient so it is not one flat colour."""
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 4):
        image.paste(tuple(min(255, c + x % 64) for c in colour), (x, 0, x + 2, size[1]))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def photos() -> list[tuple[str, bytes, str]]:
    made = [
        ("red.jpg", photo((200, 30, 30), (320, 200)), "image/jpeg"),
        ("green.png", photo((30, 160, 40), (200, 320), "PNG"), "image/png"),
        ("blue.jpg", photo((20, 40, 200), (256, 256)), "image/jpeg"),
    ]
    found = [(p.name, p.read_bytes(), "image/png" if p.suffix == ".png" else "image/jpeg")
             for p in sorted(PHOTOS.glob("*")) if p.suffix in (".jpg", ".png")]  # fmt: skip
    return made + found


class Client:
    def __init__(self, runner: RunnerProcess, user: str) -> None:
        self.runner, self.headers = runner, {"X-MS-CLIENT-PRINCIPAL-ID": user}

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.runner.url(path), headers=self.headers, timeout=30, **kwargs)

    def upload(self, files: list[tuple[str, bytes, str]]) -> dict[str, Any]:
        response = requests.post(
            self.runner.url("/api/images"),
            headers=self.headers,
            files=[("file", (name, data, ctype)) for name, data, ctype in files],
            timeout=60,
        )
        assert response.status_code == 202, response.text
        return response.json()

    def wait_batch_done(self, batch_id: str, timeout: float = 60) -> dict[str, Any]:
        return wait_until(lambda: (b := self.get(f"/api/batches/{batch_id}").json()).get("done") and b, timeout, 0.1)


@pytest.fixture(scope="module")
def app_runner(azurite, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app")
    runner = RunnerProcess(ROOT, app_env(azurite.connection_string), SETTINGS, tmp / "runner.log").start()
    yield runner
    runner.ensure_stopped()


def test_a_batch_of_photos_is_tagged_and_queryable(app_runner):
    client = Client(app_runner, f"user-{token()}")
    files = photos()
    uploaded = client.upload(files)
    assert uploaded["rejected"] == [] and len(uploaded["images"]) == len(files)
    batch = client.wait_batch_done(uploaded["batch_id"])
    assert (batch["total"], batch["tagged"], batch["failed"]) == (len(files), len(files), 0)

    by_name = {image["filename"]: image for image in batch["images"]}
    red = client.get(f"/api/images/{by_name['red.jpg']['id']}").json()
    assert red["status"] == "tagged" and "red" in {t["name"] for t in red["tags"]}
    thumbnail = requests.get(red["thumbnail_url"], timeout=10)
    assert thumbnail.status_code == 200 and thumbnail.content[:3] == b"\xff\xd8\xff"

    listed = client.get("/api/images", params={"tag": "red"}).json()
    assert red["id"] in {image["id"] for image in listed["images"]}
    tags = client.get("/api/tags").json()
    assert "red" in {t["name"] for t in tags["tags"]}

    blue_id = by_name["blue.jpg"]["id"]
    deleted = requests.delete(app_runner.url(f"/api/images/{blue_id}"), headers=client.headers, timeout=10)
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert client.get(f"/api/images/{blue_id}").status_code == 404


def test_the_real_app_routes_methods_and_limits(app_runner):
    client = Client(app_runner, f"user-{token()}")
    assert client.get("/api/health").status_code == 200
    # A documented route with another method: 405 naming the methods (the app's no_route).
    put = requests.put(app_runner.url("/api/images"), timeout=10)
    assert (put.status_code, put.headers["Allow"], put.json()["error"]["code"]) == (405, "GET, POST", "method_not_allowed")
    assert requests.post(app_runner.url("/api/tags"), timeout=10).status_code == 405
    unknown = client.get("/api/no-such-route")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert requests.get(app_runner.url("/api/images/a%0Ab"), timeout=10).json()["error"]["code"] == "not_found"
    missing = client.get("/api/images/9999999999999aaaaaa-000")
    assert missing.status_code == 404 and missing.json()["error"]["code"]
    with socket.create_connection(("127.0.0.1", app_runner.port), timeout=10) as sock:
        sock.sendall(b"POST /api/images HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                     b"Content-Length: 104857601\r\n\r\n")  # fmt: skip
        assert sock.recv(4096).startswith(b"HTTP/1.1 413")


def test_a_message_that_keeps_failing_ends_in_the_poison_queue_and_the_image_fails(azurite, queues, start_runner):
    # A genuine, repeatable failure: the thumbnails container name is invalid, so
    # every tagging attempt fails when it writes the thumbnail (uploads never touch it).
    env = app_env(
        azurite.connection_string,
        TAGGING_THUMBNAILS_CONTAINER="Bad_Container",
        AzureFunctionsJobHost__extensions__queues__maxDequeueCount="2",
        AzureFunctionsJobHost__extensions__queues__visibilityTimeout="00:00:00",
    )
    runner = start_runner(ROOT, env, *SETTINGS)
    client = Client(runner, f"user-{token()}")
    [image] = client.upload([("doomed.jpg", photo((90, 90, 90), (64, 64)), "image/jpeg")])["images"]
    detail = wait_until(
        lambda: (d := client.get(f"/api/images/{image['id']}").json())["status"] == "failed" and d, timeout=30
    )
    assert detail["error"]["code"] == "processing_failed"
    log = runner.log()
    assert len(re.findall(r"function=tag_image invocation_id=\S+ .*outcome=failed", log)) == 2
    assert f"Moving message to queue '{env['TAGGING_QUEUE']}-poison'" in log
    assert re.search(r"function=tag_image_poison invocation_id=\S+ .*outcome=succeeded", log)
    assert queues.count(env["TAGGING_QUEUE"]) == 0 and queues.count(env["TAGGING_QUEUE"] + "-poison") == 0


def test_an_unencoded_message_goes_to_the_poison_queue_unrun(app_runner, queues):
    queue = app_runner.env["TAGGING_QUEUE"]
    message_id = queues.send_raw(queue, '{"v":1,"user":"bYWxpY2U","image":"9999999999999aaaaaa-000"}')
    wait_until(lambda: queues.count(queue) == 0 and queues.count(queue + "-poison") == 1)
    time.sleep(0.5)
    log = app_runner.log()
    mentions = [line for line in log.splitlines() if message_id in line]
    assert any("Message decoding has failed!" in line for line in mentions)
    assert any("Moving message to queue" in line for line in mentions)  # the host logs the same line
    assert not any("executed function=" in line for line in mentions)  # tag_image never ran
    # In the poison queue too it cannot be decoded: it stays there, invisible, never run.
    wait_until(lambda: any(f"queue={queue}-poison" in line for line in app_runner.log().splitlines()
                           if "Message decoding has failed!" in line), timeout=5)  # fmt: skip


def test_a_restart_on_persisted_azurite_keeps_every_image(tmp_path):
    location = tmp_path / "azurite"
    ports = (free_port(), free_port(), free_port())
    storage = Azurite.start(ports=ports, location=location)
    env = app_env(storage.connection_string)
    user = f"user-{token()}"
    runners: list[RunnerProcess] = []
    try:
        first = RunnerProcess(ROOT, env, SETTINGS, tmp_path / "first.log")
        runners.append(first)
        first.start()
        client = Client(first, user)
        files = photos()[:4]
        batch_id = client.upload(files)["batch_id"]
        client.wait_batch_done(batch_id)
        before = client.get("/api/images").json()["images"]
        assert first.stop() == 0
        storage.stop()

        storage = Azurite.start(ports=ports, location=location)
        second = RunnerProcess(ROOT, env, SETTINGS, tmp_path / "second.log")
        runners.append(second)
        second.start()
        client = Client(second, user)
        after = client.get("/api/images").json()["images"]
        assert [(i["id"], i["status"]) for i in after] == [(i["id"], i["status"]) for i in before]
        assert len(after) == len(files) and all(i["status"] == "tagged" for i in after)
        original = client.get(f"/api/images/{after[0]['id']}").json()
        name = original["filename"]
        assert requests.get(original["url"], timeout=10).content == dict((n, d) for n, d, _ in files)[name]
        assert second.stop() == 0
    finally:
        for runner in runners:
            runner.ensure_stopped()
        storage.stop()


def test_a_chunked_upload_gets_411_with_a_clear_json_error(app_runner):
    """The host passes no body without Content-Length > 0; the app says so instead of no_files."""
    client = Client(app_runner, f"user-{token()}")
    data = photo((10, 120, 200), (64, 64))

    def chunks():
        yield data[:100]
        yield data[100:]

    response = requests.post(app_runner.url("/api/images"), data=chunks(),
                             headers={**client.headers, "Content-Type": "image/jpeg"}, timeout=30)  # fmt: skip
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 411
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "length_required" and "Content-Length" in error["message"]
    assert client.get("/api/images").json()["images"] == []  # nothing was stored
    sized = requests.post(app_runner.url("/api/images"), data=data, params={"filename": "sized.jpg"},
                          headers={**client.headers, "Content-Type": "image/jpeg"}, timeout=30)  # fmt: skip
    assert sized.status_code == 202
