"""HTTP client for the app's API: base URL, function key, identity, retries.

Retries (with exponential back-off, honouring ``Retry-After``) cover connection
errors, timeouts, 429, 5xx and 409 ``idempotency_in_progress``. Every upload carries an
``Idempotency-Key`` made once per file and sent again on each retry, so a retry after
the app stored the file (the answer was lost) gets the first answer, not a second copy.
"""
from __future__ import annotations

import email.utils
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests

PRINCIPAL_HEADER = "X-MS-CLIENT-PRINCIPAL-ID"
KEY_HEADER = "x-functions-key"
IDEMPOTENCY_HEADER = "Idempotency-Key"
IN_PROGRESS = "idempotency_in_progress"  # 409: the same upload is still running; retry
USER_AGENT = "tagging-cli/0.1"
CHUNK = 64 * 1024


class ApiError(Exception):
    """The app answered with an error (after any retries)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} (HTTP {status}, {code})")
        self.status, self.code, self.message = status, code, message

    @property
    def is_client_config_error(self) -> bool:
        """401/403: a missing or wrong key or identity, not this request's fault."""
        return self.status in (401, 403)


class ConnectionFailed(Exception):
    """The app could not be reached (after any retries)."""


@dataclass
class RetryPolicy:
    retries: int = 5  # attempts after the first
    base: float = 0.5  # seconds before the first retry; doubles each time
    cap: float = 30.0  # longest back-off
    max_retry_after: float = 300.0  # longest Retry-After honoured
    jitter: Callable[[], float] = field(default=lambda: random.uniform(0.8, 1.0))

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        told = parse_retry_after(retry_after)
        if told is not None:
            return min(told, self.max_retry_after)
        return min(self.cap, self.base * 2**attempt) * self.jitter()


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retryable_status(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


def retryable(response: requests.Response) -> bool:
    """429, 5xx, or a 409 saying the same upload (same Idempotency-Key) is still running."""
    if retryable_status(response.status_code):
        return True
    return response.status_code == 409 and api_error(response).code == IN_PROGRESS


def new_idempotency_key() -> str:
    """A fresh Idempotency-Key: a random UUID (one per upload, reused on its retries)."""
    return str(uuid.uuid4())


class ProgressBody:
    """A request body read in chunks, reporting bytes sent (for progress bars).
    Has a length, so requests sends Content-Length rather than chunked encoding."""

    def __init__(self, data: bytes, on_progress: Callable[[int], object] | None = None) -> None:
        self._data = data
        self._position = 0
        self._on_progress = on_progress

    def __len__(self) -> int:
        return len(self._data)

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size is None or size < 0 else min(len(self._data), self._position + size)
        chunk = self._data[self._position : end]
        self._position = end
        if chunk and self._on_progress:
            self._on_progress(len(chunk))
        return chunk

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK):
            yield chunk


def multipart_body(filename: str, data: bytes, content_type: str, metadata: str | None) -> tuple[bytes, str, int]:
    """(body, Content-Type, offset of the file's bytes) of a one-file form upload."""
    boundary = "tagging-cli-" + "".join(random.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=24))
    # As browsers do (WHATWG): quote, CR and LF percent-encoded; the rest raw UTF-8.
    safe_name = filename.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
    head = b""
    if metadata:
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n'
            "Content-Type: application/json; charset=utf-8\r\n\r\n"
        ).encode() + metadata.encode("utf-8") + b"\r\n"
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{safe_name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + data + tail, f"multipart/form-data; boundary={boundary}", len(head)


class ApiClient:
    """One client for one app; safe to share between threads (a session per thread)."""

    def __init__(
        self,
        base_url: str,
        key: str | None = None,
        user: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[str, float], None] | None = None,
    ) -> None:
        base = base_url.rstrip("/")
        self.api = base if base.endswith("/api") else base + "/api"
        self.headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if key:
            self.headers[KEY_HEADER] = key
        if user:
            self.headers[PRINCIPAL_HEADER] = user
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.sleep = sleep
        self.on_retry = on_retry
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers.update(self.headers)
        return session

    def url(self, path: str) -> str:
        return f"{self.api}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Callable[[], Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send, retrying as the policy says; ``body`` makes a fresh body per attempt.
        Returns the last response (maybe an error status); raises ConnectionFailed."""
        for attempt in range(self.retry.retries + 1):
            last = attempt == self.retry.retries
            try:
                response = self._session().request(
                    method, self.url(path), params=params, data=body() if body else None,
                    headers=headers, timeout=self.timeout,
                )  # fmt: skip
            except (requests.ConnectionError, requests.Timeout) as error:
                if last:
                    raise ConnectionFailed(f"cannot reach {self.api}: {_reason(error)}") from None
                reason, delay = f"{_reason(error)}", self.retry.delay(attempt, None)
            else:
                if not retryable(response) or last:
                    return response
                reason = f"HTTP {response.status_code}"
                delay = self.retry.delay(attempt, response.headers.get("Retry-After"))
                response.close()
            if self.on_retry:
                self.on_retry(f"{method} {path}: {reason}; retry {attempt + 1}/{self.retry.retries}", delay)
            self.sleep(delay)
        raise AssertionError("unreachable")

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """JSON of a successful response (None for 204); ApiError otherwise."""
        response = self.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise api_error(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def upload(
        self, filename: str, data: bytes, content_type: str, metadata: str | None,
        on_progress: Callable[[int], object] | None = None, on_restart: Callable[[], object] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """POST one file; the 202 body. ``on_progress(n)`` gets the file bytes sent.
        Every attempt sends the same body and ``idempotency_key`` (a new one when None),
        so the app stores the file once however often it is retried."""
        payload, content_type_header, offset = multipart_body(filename, data, content_type, metadata)
        attempts = 0

        def body() -> ProgressBody:
            nonlocal attempts
            attempts += 1
            if attempts > 1 and on_restart:
                on_restart()
            sent = 0

            def progress(count: int) -> None:
                nonlocal sent
                before = min(max(sent - offset, 0), len(data))
                sent += count
                after = min(max(sent - offset, 0), len(data))
                if on_progress and after > before:
                    on_progress(after - before)

            return ProgressBody(payload, progress)

        headers = {"Content-Type": content_type_header, IDEMPOTENCY_HEADER: idempotency_key or new_idempotency_key()}
        return self.call("POST", "images", body=body, headers=headers)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.call("GET", path, params=params)

    def all_images(self, tag: str | None = None, page_size: int = 100) -> dict[str, dict[str, Any]]:
        """Every image of the caller (with ``tag``: those tagged so), by id, following
        continuation tokens to the last page."""
        images: dict[str, dict[str, Any]] = {}
        token = None
        while True:
            params = {"limit": page_size, "tag": tag, "continuation": token}
            page = self.get("images", {k: v for k, v in params.items() if v})
            images.update((image["id"], image) for image in page["images"])
            token = page.get("continuation")
            if not token:
                return images

    def image_path(self, image_id: str) -> str:
        return f"images/{quote(image_id, safe='')}"


def api_error(response: requests.Response) -> ApiError:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    code = error.get("code") or "http_error"
    message = error.get("message") or (response.reason or "request failed")
    return ApiError(response.status_code, code, message)


def _reason(error: Exception) -> str:
    if isinstance(error, requests.Timeout):
        return "timed out"
    text = str(error)
    for marker in ("Connection refused", "Name or service not known", "Connection reset", "Remote end closed"):
        if marker in text:
            return marker.lower()
    return type(error).__name__
