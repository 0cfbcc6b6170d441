"""Invoke the function app as the Functions host would, for integration tests.

Functions come from ``app.get_functions()`` exactly as indexed; HTTP functions get
real ``HttpRequest`` objects, queue functions real ``QueueMessage`` objects built from
messages received from the real (Azurite) queue. This is test plumbing, not the runner.
"""
from __future__ import annotations

import json
from typing import Any

import azure.functions as func
from azure.functions.queue import QueueMessage
from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient


class Host:
    def __init__(self, functions: dict[str, Any], connection_string: str, queue: str) -> None:
        self.functions = functions
        self.connection_string = connection_string
        self.queue_name = queue

    def user_function(self, name: str):  # type: ignore[no-untyped-def]
        return self.functions[name].get_user_function()

    def http(
        self,
        name: str,
        method: str,
        path: str,
        *,
        user: str | None = "alice",
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        route_params: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> func.HttpResponse:
        all_headers = dict(headers or {})
        if not {name.lower() for name in all_headers} & {"content-length", "transfer-encoding"}:
            all_headers["Content-Length"] = str(len(body))  # as an HTTP client sends it (the host passes it on)
        if user is not None:
            all_headers["X-MS-CLIENT-PRINCIPAL-ID"] = user
        request = func.HttpRequest(
            method, f"http://localhost/api/{path}", headers=all_headers, params=params or {},
            route_params=route_params or {}, body=body,
        )  # fmt: skip
        return self.user_function(name)(request)

    def queue(self, name: str | None = None) -> QueueClient:
        return QueueClient.from_connection_string(
            self.connection_string, name or self.queue_name, message_decode_policy=BinaryBase64DecodePolicy()
        )

    def drain(self, function: str = "tag_image", queue: str | None = None, max_rounds: int = 50) -> int:
        """Run ``function`` on every message of the queue, deleting each on success.
        Returns how many ran. Exceptions propagate (the message stays)."""
        client = self.queue(queue)
        ran = 0
        for _ in range(max_rounds):
            batch = list(client.receive_messages(messages_per_page=32, max_messages=32, visibility_timeout=30))
            if not batch:
                return ran
            for message in batch:
                self.run_message(message.content, function=function, id=message.id, dequeue_count=message.dequeue_count)
                client.delete_message(message)
                ran += 1
        return ran

    def run_message(self, body: bytes, function: str = "tag_image", id: str = "test", dequeue_count: int = 1) -> None:
        self.user_function(function)(QueueMessage(id=id, body=body, dequeue_count=dequeue_count))


def body_json(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body() or b"null")


def multipart(files: list[tuple[str, str, bytes, str]], fields: dict[str, str] | None = None) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data request.
    ``files``: (field name, filename, data, content type)."""
    boundary = "----taggingtestboundary7MA4YWxkTrZu0gW"
    parts: list[bytes] = []
    for name, value in (fields or {}).items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode() + b"\r\n"
        )
    for field, filename, data, ctype in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n"
        )
        parts.append(head.encode("utf-8") + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"
