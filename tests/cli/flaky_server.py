"""FlakyServer: a test double of the app's HTTP API that answers from a script.

Each request takes the next scripted answer (the last one repeats): a status, headers
and a JSON body, or ``DROP`` to close the connection without answering. With an
``upstream`` (the real app), ``FORWARD`` passes the request on and relays its answer,
and ``FORWARD_THEN_DROP`` passes it on and then closes the connection: the app did the
work but the client never hears of it (an answer lost after storing). Instead of a
script, ``choose(method, path)`` may pick each answer (e.g. to forward a whole web page
and drop one upload's answer); ``keep_alive=False`` closes every connection after its
answer. Every request is
recorded (time, method, path, headers, body) so tests can check what was sent, how
often and how far apart.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Any, Self

DROP = "drop"
FORWARD = "forward"
FORWARD_THEN_DROP = "forward_then_drop"
HOP_BY_HOP = {"host", "connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    at: float
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FlakyServer:
    def __init__(
        self, script: list[Answer | str], upstream: str | None = None,
        choose: Callable[[str, str], Answer | str] | None = None, keep_alive: bool = True,
    ) -> None:  # fmt: skip
        self.script = list(script)
        self.keep_alive = keep_alive  # False: "Connection: close" on every answer
        self.upstream = upstream
        self.choose = choose
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                answer = server._record_and_pick(self.command, self.path, dict(self.headers.items()), body)
                if answer in (FORWARD, FORWARD_THEN_DROP):
                    relayed = server._forward(self.command, self.path, dict(self.headers.items()), body)
                    answer = DROP if answer == FORWARD_THEN_DROP else relayed
                if answer == DROP:
                    self.close_connection = True
                    self.connection.close()
                    return
                assert isinstance(answer, Answer)
                raw = isinstance(answer.body, bytes)
                payload = answer.body if raw else b"" if answer.body is None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if payload and not raw:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if not server.keep_alive:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _record_and_pick(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer | str:
        with self._lock:
            self.requests.append(Seen(time.monotonic(), method, path, headers, body))
            if self.choose is not None:
                return self.choose(method, path)
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """Send the request to ``upstream``; its answer (body as bytes, headers but hop-by-hop)."""
        assert self.upstream, "FORWARD needs FlakyServer(..., upstream=<app URL>)"
        sent = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
        request = urllib.request.Request(self.upstream + path, data=body or None, headers=sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, got, payload = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, got, payload = error.code, error.headers, error.read()
        return Answer(status, payload, {k: v for k, v in got.items() if k.lower() not in HOP_BY_HOP})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def gaps(self) -> list[float]:
        """Seconds between consecutive requests."""
        times = [r.at for r in self.requests]
        return [b - a for a, b in pairwise(times)]

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def accepted(filename: str = "chelsea.png", image_id: str = "8204700000000abcdef-000") -> Answer:
    """The app's 202 answer to a one-file upload."""
    batch = image_id.rsplit("-", 1)[0]
    return Answer(202, {
        "batch_id": batch, "images": [{"id": image_id, "filename": filename, "status": "queued",
                                       "url": f"/api/images/{image_id}"}], "rejected": [],
    })  # fmt: skip
