"""Put and get of a whole block blob (and Put Message) with a hand-built request, on
the SDK's pipeline.

Each image is written once (the original), read once (by the tagger) and gets one
thumbnail. ``ContainerClient.upload_blob`` and ``download_blob`` spend ~1 ms of CPU
per call on option handling, the streaming downloader and response deserialisation
before and after the one HTTP request they make. These send that request (Put Blob;
a single Get Blob of the whole blob) through the container client's own
``PipelineClient``: authentication (shared key or token), the storage retry policy,
timeouts and transport stay the SDK's. Errors are raised as the SDK's exception types
so ``storage_call`` translates them as before.

Used only when the container URL carries no SAS token; otherwise the SDK's methods run.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from azure.storage.blob import ContainerClient
from azure.storage.queue import QueueClient

from ._pipeline import sdk_error, send

_META = "x-ms-meta-"


def lean(container: ContainerClient | QueueClient) -> bool:
    return not getattr(container, "_query_str", "")


def _error(response: Any) -> HttpResponseError:
    return sdk_error(response.status_code, f"blob storage answered {response.status_code}", response)


def put(container: ContainerClient, name: str, data: bytes, content_type: str, metadata: dict[str, str] | None = None,
        cache_control: str | None = None) -> None:  # fmt: skip
    """Put Blob: create or replace block blob ``name`` with ``data`` (one request)."""
    headers = {
        "x-ms-version": container.api_version,
        "x-ms-blob-type": "BlockBlob",
        "Content-Type": "application/octet-stream",
        "x-ms-blob-content-type": content_type,
        **{f"{_META}{key}": value for key, value in (metadata or {}).items()},
    }
    if cache_control:
        headers["x-ms-blob-cache-control"] = cache_control
    request = HttpRequest("PUT", f"{container.url}/{quote(name)}", headers=headers, content=data)
    response = send(container, request)
    if response.status_code != 201:
        raise _error(response)


def get(container: ContainerClient, name: str) -> tuple[bytes, dict[str, str]]:
    """Get Blob: (bytes, metadata with ``content_type``) of block blob ``name``."""
    request = HttpRequest("GET", f"{container.url}/{quote(name)}", headers={"x-ms-version": container.api_version})
    response = send(container, request)
    if response.status_code != 200:
        raise _error(response)
    metadata = {key[len(_META):]: value for key, value in response.headers.items() if key.lower().startswith(_META)}
    metadata["content_type"] = response.headers.get("Content-Type", "")
    return response.content, metadata


def queue_send(queue: Any, text: str) -> None:
    """Put Message with ``text`` (already encoded as the queue expects), as the SDK
    sends it (POST .../messages, an XML QueueMessage), through the queue client's
    pipeline. ~1 ms less CPU than ``send_message``, which builds and parses models."""
    from xml.sax.saxutils import escape

    body = ("<?xml version='1.0' encoding='utf-8'?>\n<QueueMessage><MessageText>"
            f"{escape(text)}</MessageText></QueueMessage>").encode()  # fmt: skip
    request = HttpRequest(
        "POST", f"{queue.url}/messages",
        headers={"x-ms-version": queue.api_version, "Content-Type": "application/xml; charset=utf-8"}, content=body,
    )  # fmt: skip
    response = send(queue, request)
    if response.status_code != 201:
        raise _error(response)
