"""Retries against FlakyServer (a scripted stand-in for the app): 429/5xx and dropped
connections are retried with back-off, Retry-After is honoured, 4xx is not retried."""
from __future__ import annotations

import json
import re
from pathlib import Path

from tagging.cli import main
from tests.cli.flaky_server import DROP, Answer, FlakyServer, accepted

CHELSEA = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "chelsea.png"
UNAVAILABLE = {"error": {"code": "storage_unavailable", "message": "storage is unavailable; retry shortly"}}


def run(server: FlakyServer, *args: str) -> int:
    return main(["--url", server.url, *args])


def test_upload_retries_a_503_after_its_retry_after_and_resends_the_whole_file(capsys):
    with FlakyServer([Answer(503, UNAVAILABLE, {"Retry-After": "1"}), accepted()]) as server:
        code = run(server, "--key", "secret", "--user", "ann", "upload", str(CHELSEA), "--json")
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [r.method for r in server.requests] == ["POST", "POST"]
    assert all(r.path == "/api/images" for r in server.requests)
    assert server.gaps()[0] >= 0.95, "Retry-After: 1 was not honoured"
    first, second = server.requests
    assert first.body == second.body and CHELSEA.read_bytes() in second.body
    assert int(second.headers["Content-Length"]) == len(second.body)
    for seen in server.requests:
        assert seen.headers["x-functions-key"] == "secret" and seen.headers["X-MS-CLIENT-PRINCIPAL-ID"] == "ann"
    assert "HTTP 503; retry 1/5; waiting 1.0 s" in err
    result = json.loads(out)
    assert result["files"][0]["status"] == "queued" and result["summary"]["queued"] == 1


def test_429_is_retried_for_queries_too(capsys):
    script = [Answer(429, None, {"Retry-After": "0"}), Answer(429, None, {"Retry-After": "0"}),
              Answer(200, {"images": [], "continuation": None})]  # fmt: skip
    with FlakyServer(script) as server:
        assert run(server, "--user", "ann", "list", "--json") == 0
    assert len(server.requests) == 3
    assert json.loads(capsys.readouterr().out) == {"images": [], "continuation": None}


def test_without_retry_after_the_back_off_grows_exponentially(capsys):
    script = [Answer(500, None), Answer(502, None), Answer(504, None), accepted()]
    with FlakyServer(script) as server:
        assert run(server, "upload", str(CHELSEA)) == 0
    gaps = server.gaps()
    assert len(gaps) == 3
    # 0.5 s, 1 s, 2 s, each times a jitter in [0.8, 1].
    assert 0.35 <= gaps[0] <= 0.9 and 0.75 <= gaps[1] <= 1.5 and 1.55 <= gaps[2] <= 2.6, gaps


def test_a_dropped_connection_is_retried(capsys):
    with FlakyServer([DROP, accepted()]) as server:
        assert run(server, "upload", str(CHELSEA)) == 0
    assert len(server.requests) == 2
    assert "retry 1/5" in capsys.readouterr().err


def test_gives_up_after_the_retries_with_exit_code_2(capsys):
    with FlakyServer([Answer(503, UNAVAILABLE, {"Retry-After": "0"})]) as server:
        code = run(server, "--retries", "2", "upload", str(CHELSEA), "--json")
    assert code == 2
    assert len(server.requests) == 3
    [file] = json.loads(capsys.readouterr().out)["files"]
    assert file["status"] == "error" and file["error"]["code"] == "storage_unavailable"


def test_client_errors_are_not_retried(capsys):
    refused = {"error": {"code": "unsupported_format", "message": "the bytes are not a recognised image format"}}
    with FlakyServer([Answer(415, refused)]) as server:
        code = run(server, "upload", str(CHELSEA), "--json")
    assert code == 1 and len(server.requests) == 1
    [file] = json.loads(capsys.readouterr().out)["files"]
    assert file["status"] == "rejected" and file["error"]["code"] == "unsupported_format"


def test_an_unreachable_app_is_exit_code_2_and_later_files_are_not_tried(capsys, tmp_path):
    with FlakyServer([accepted()]) as server:
        url = server.url  # then closed: nothing listens there any more
    photos = []
    for index in range(3):
        photos.append(tmp_path / f"{index}.png")
        photos[-1].write_bytes(CHELSEA.read_bytes())
    code = main(["--url", url, "--retries", "1", "upload", "--concurrency", "1", "--json", *map(str, photos)])
    out, err = capsys.readouterr()
    assert code == 2
    codes = [f["error"]["code"] for f in json.loads(out)["files"]]
    assert codes == ["unreachable", "not_attempted", "not_attempted"]
    assert "connection refused" in err


def test_every_attempt_of_an_upload_sends_the_same_idempotency_key_and_each_file_its_own(capsys, tmp_path):
    other = tmp_path / "other.png"
    other.write_bytes(CHELSEA.read_bytes())
    with FlakyServer([DROP, accepted(), accepted("other.png", "8204700000001abcdef-000")]) as server:
        assert run(server, "upload", "--concurrency", "1", str(CHELSEA), str(other)) == 0
    keys = [r.headers["Idempotency-Key"] for r in server.requests]
    assert len(keys) == 3
    assert keys[0] == keys[1] != keys[2], "a retry must reuse its file's key; another file gets a new one"
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", k) for k in keys)
    assert server.requests[0].body == server.requests[1].body


def test_an_upload_still_in_progress_is_retried_after_its_retry_after(capsys):
    busy = {
        "error": {
            "code": "idempotency_in_progress",
            "message": "an upload with this Idempotency-Key is still in progress",
        }
    }
    with FlakyServer([Answer(409, busy, {"Retry-After": "1"}), accepted()]) as server:
        assert run(server, "upload", str(CHELSEA), "--json") == 0
    assert len(server.requests) == 2 and server.gaps()[0] >= 0.95
    assert server.requests[0].headers["Idempotency-Key"] == server.requests[1].headers["Idempotency-Key"]
    assert json.loads(capsys.readouterr().out)["files"][0]["status"] == "queued"


def test_an_idempotency_conflict_is_not_retried(capsys):
    conflict = {
        "error": {"code": "idempotency_conflict", "message": "this Idempotency-Key was used for a different upload"}
    }
    with FlakyServer([Answer(409, conflict)]) as server:
        code = run(server, "upload", str(CHELSEA), "--json")
    assert code == 1 and len(server.requests) == 1
    [file] = json.loads(capsys.readouterr().out)["files"]
    assert file["status"] == "rejected" and file["error"]["code"] == "idempotency_conflict"
