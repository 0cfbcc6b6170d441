"""The queue listener's two per-message calls, receive and delete, as plain signed
HTTP requests on one aiohttp session.

Through the async Storage SDK each cost 1.6-2.1 ms of CPU (its pipeline of policies,
the XML model deserialiser), and the listener makes about three a message (receives on
the queue and its poison queue, then the delete): the host's own work, which in Azure
runs in the .NET host, not beside the functions. The requests are the ones the SDK
sends (REST "Get Messages" and "Delete Message", Shared Key signed as the SDK signs
them, the SDK's API version); errors become the same azure.core exceptions
(``ResourceNotFoundError`` for 404, ``HttpResponseError`` with ``status_code``,
``ServiceRequestError``/``ServiceResponseError`` when no answer came), and a delete
is retried twice like the SDK client it replaces (``ClientPool``'s settings). Only
account-key connections use this; others (SAS) keep the SDK client.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import random
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

import aiohttp
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from yarl import URL

API_VERSION = "2026-04-06"  # what azure-storage-queue 12.18 sends
BACKOFF_SECONDS = (1.0, 3.0)  # a delete's two retries, as ClientPool's SDK clients (±1 s)


@dataclass(frozen=True)
class ReceivedMessage:
    """What a receive gives, with the SDK's ``QueueMessage`` attribute names."""

    id: str
    pop_receipt: str
    content: str
    dequeue_count: int
    inserted_on: datetime | None
    expires_on: datetime | None
    next_visible_on: datetime | None


class LeanQueue:
    """Receive and delete on one queue, signed with the account key."""

    def __init__(self, session: aiohttp.ClientSession, queue_url: str, account_name: str, account_key: str) -> None:
        self._session = session
        parts = urlsplit(queue_url)
        self._base = f"{parts.scheme}://{parts.netloc}"
        self._path = parts.path.rstrip("/")  # /account/queue (path style) or /queue
        self._account = account_name
        self._key = base64.b64decode(account_key)

    async def receive(self, count: int, visibility_timeout: int) -> list[ReceivedMessage]:
        query = {"numofmessages": str(count), "visibilitytimeout": str(visibility_timeout)}
        body = await self._request("GET", f"{self._path}/messages", query, (200,))
        return [_message(element) for element in ElementTree.fromstring(body).iter("QueueMessage")]

    async def delete(self, message_id: str, pop_receipt: str) -> None:
        path = f"{self._path}/messages/{quote(message_id, safe='')}"
        for backoff in (*BACKOFF_SECONDS, None):
            try:
                await self._request("DELETE", path, {"popreceipt": pop_receipt}, (204,))
                return
            except HttpResponseError as error:
                if backoff is None or not _retryable(error):
                    raise
            except AzureError:
                if backoff is None:
                    raise
            await asyncio.sleep(max(0.0, backoff + random.uniform(-1, 1)))

    async def _request(self, method: str, path: str, query: dict[str, str], expected: tuple[int, ...]) -> bytes:
        headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": API_VERSION}
        headers["Authorization"] = self._authorization(method, path, query, headers)
        encoded = "&".join(f"{name}={quote(value, safe='')}" for name, value in query.items())
        url = URL(f"{self._base}{path}?{encoded}", encoded=True)
        try:
            async with self._session.request(method, url, headers=headers) as response:
                body = await response.read()
                status = response.status
        except TimeoutError as error:
            raise ServiceResponseError(f"no answer in time ({type(error).__name__})") from None
        except aiohttp.ClientError as error:
            raise ServiceRequestError(f"connection failed ({type(error).__name__}: {error})") from None
        if status not in expected:
            raise _error(status, body)
        return body

    def _authorization(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> str:
        # Shared Key: verb, eleven empty standard headers (no body, no Content-Type),
        # the x-ms-* headers sorted, then /account + path and the sorted query values.
        signed = "".join(f"{name}:{value}\n" for name, value in sorted(headers.items()))
        resource = f"/{self._account}{path}" + "".join(f"\n{name}:{value}" for name, value in sorted(query.items()))
        text = f"{method}\n" + "\n" * 11 + signed + resource
        signature = base64.b64encode(hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).digest()).decode()
        return f"SharedKey {self._account}:{signature}"


def _message(element: ElementTree.Element) -> ReceivedMessage:
    def text(name: str) -> str:
        return element.findtext(name) or ""

    return ReceivedMessage(
        id=text("MessageId"),
        pop_receipt=text("PopReceipt"),
        content=text("MessageText"),
        dequeue_count=int(text("DequeueCount") or 0),
        inserted_on=_time(text("InsertionTime")),
        expires_on=_time(text("ExpirationTime")),
        next_visible_on=_time(text("TimeNextVisible")),
    )


def _time(value: str) -> datetime | None:
    return parsedate_to_datetime(value) if value else None


def _error(status: int, body: bytes) -> HttpResponseError:
    code = message = ""
    try:
        root = ElementTree.fromstring(body)
        code, message = root.findtext("Code") or "", root.findtext("Message") or ""
    except ElementTree.ParseError:
        pass
    kind = ResourceNotFoundError if status == 404 else HttpResponseError
    error = kind(message=f"({code or status}) {message.splitlines()[0] if message else ''}".strip())
    error.status_code = status
    error.error_code = code or None
    return error


def _retryable(error: HttpResponseError) -> bool:
    return error.status_code in (408, 429) or (error.status_code or 0) >= 500
