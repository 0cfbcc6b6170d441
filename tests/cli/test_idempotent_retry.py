"""A retried upload whose first answer was lost after the app stored the file: the CLI
through FlakyServer in front of the real app (runner + Azurite). The first request
reaches the app, which stores the image, and the connection is then dropped; the CLI
retries with the same Idempotency-Key and gets the first answer: one image, not two."""
from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
import requests

from tagging.cli import main
from tests.cli.flaky_server import FORWARD, FORWARD_THEN_DROP, FlakyServer

pytestmark = pytest.mark.e2e

CHELSEA = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "chelsea.png"


def images_of(app, user: str) -> list[dict]:
    response = requests.get(app.url("/api/images"), headers={"X-MS-CLIENT-PRINCIPAL-ID": user}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["images"]


def test_a_retry_after_a_dropped_answer_stores_the_image_once(cli_app, capsys):
    me = "cli-" + secrets.token_hex(4)
    with FlakyServer([FORWARD_THEN_DROP, FORWARD], upstream=cli_app.base) as server:
        code = main(["--url", server.url, "--user", me, "upload", str(CHELSEA), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "retry 1/5" in err
    first, second = server.requests
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] and first.body == second.body
    [file] = json.loads(out)["files"]
    assert file["status"] == "queued"
    stored = images_of(cli_app, me)
    assert [image["id"] for image in stored] == [file["id"]], "the retry stored a second copy"


def test_without_a_key_the_same_lost_answer_would_store_a_second_copy(cli_app):
    """Why the key matters: the same two requests without one are two uploads."""
    me = "cli-" + secrets.token_hex(4)
    headers = {"X-MS-CLIENT-PRINCIPAL-ID": me, "Content-Type": "image/png"}
    with FlakyServer([FORWARD_THEN_DROP, FORWARD], upstream=cli_app.base) as server:
        with pytest.raises(requests.ConnectionError):
            requests.post(server.url + "/api/images", data=CHELSEA.read_bytes(), headers=headers, timeout=30)
        retried = requests.post(server.url + "/api/images", data=CHELSEA.read_bytes(), headers=headers, timeout=30)
    assert retried.status_code == 202
    assert len(images_of(cli_app, me)) == 2
