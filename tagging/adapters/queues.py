"""The tag-request queue. Messages are base64 text, as the Functions host expects."""
from __future__ import annotations

import base64
import contextlib
import json

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import BinaryBase64DecodePolicy, BinaryBase64EncodePolicy

from ..core.records import TagRequest
from ..settings import Settings
from . import _blob_requests
from ._ensure import ensure_once
from .clients import get_clients
from .errors import storage_call


def encode_request(request: TagRequest) -> bytes:
    """The message body: compact JSON of references only (well under 1 KiB).

    ``{"v": 1, "user": <user key>, "image": <image id>}``, plus ``"force": true`` for a
    re-check of a tagged image, plus ``"retag": <re-tag job id>`` (always forced) when a
    user's re-tag job asked for it. Decoders ignore keys they do not know, so the
    optional keys need no new version.
    """
    message: dict[str, object] = {"v": TagRequest.VERSION, "user": request.user_key, "image": request.image_id}
    if request.force or request.retag_id:
        message["force"] = True
    if request.retag_id:
        message["retag"] = request.retag_id
    return json.dumps(message, separators=(",", ":")).encode("utf-8")


def decode_request(body: bytes) -> TagRequest:
    """Parse a message body; raises ValueError with the reason when it is not one of ours."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"message is not JSON: {error}") from None
    if not isinstance(data, dict) or data.get("v") != TagRequest.VERSION:
        raise ValueError("message is not a version-1 tag request")
    user, image = data.get("user"), data.get("image")
    if not isinstance(user, str) or not isinstance(image, str):
        raise ValueError("message lacks user or image")
    retag = data.get("retag")
    if retag is not None and not isinstance(retag, str):
        raise ValueError("message's retag is not a string")
    return TagRequest(
        user_key=user, image_id=image, force=data.get("force") is True or retag is not None, retag_id=retag
    )


class TagQueue:
    """Sends tag requests to ``settings.queue`` (base64-encoded)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client = get_clients(settings).queue.get_queue_client(
            settings.queue,
            message_encode_policy=BinaryBase64EncodePolicy(),
            message_decode_policy=BinaryBase64DecodePolicy(),
        )

    @storage_call
    def send(self, request: TagRequest) -> None:
        ensure_once(f"queue:{self._client.url}", self._client.create_queue)
        if _blob_requests.lean(self._client):  # one request on the client's pipeline (CPU per image)
            _blob_requests.queue_send(self._client, base64.b64encode(encode_request(request)).decode("ascii"))
            return
        self._client.send_message(encode_request(request))

    @storage_call
    def ping(self) -> None:
        """Raise unless Queue Storage answers: the tag queue's properties, a data-plane
        read the queue data roles allow; a missing queue is an answer."""
        with contextlib.suppress(ResourceNotFoundError):
            self._client.get_queue_properties()
