"""Identifiers and storage-safe keys.

User ids arrive in a request header and may hold any character. They reach Table
keys and blob names only through :func:`user_key`, whose output alphabet is
``[A-Za-z0-9_-]`` (never one of Table Storage's forbidden ``/ \\ # ?`` or control
characters) and whose length is at most 129 characters, far below the 1 KiB key limit.

Image ids sort newest first: ``<13 digits: 9999999999999 - epoch ms><6 base32>``
is a batch id, and an image id is ``<batch id>-<3-digit index>``. A batch's images
are therefore one contiguous RowKey range, and a partition lists newest first.
"""
from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time

_MAX_MS = 9_999_999_999_999
_B32 = "abcdefghijklmnopqrstuvwxyz234567"
RETAG_ID = re.compile(r"^r[0-9]{13}[a-z2-7]{6}$")
BATCH_ID = re.compile(r"^[0-9]{13}[a-z2-7]{6}$")
IMAGE_ID = re.compile(r"^[0-9]{13}[a-z2-7]{6}-[0-9]{3}$")
USER_KEY = re.compile(r"^(b[A-Za-z0-9_-]{1,128}|h[0-9a-f]{64})$")
MAX_USER_ID_LENGTH = 1024
# Base64url of up to 96 bytes is 128 chars; longer ids are hashed so keys stay short.
_MAX_INLINE_BYTES = 96


class InvalidUserId(ValueError):
    """The user id is empty, too long, or holds control characters."""


def user_key(user_id: str) -> str:
    """A Table-key- and blob-name-safe, injective encoding of ``user_id``.

    ``b<base64url>`` for ids up to 96 UTF-8 bytes, ``h<sha256 hex>`` above that.
    Raises :class:`InvalidUserId` for an empty id, one over 1024 characters, or one
    with control characters (they are never legitimate principal ids).
    """
    if not user_id or len(user_id) > MAX_USER_ID_LENGTH:
        raise InvalidUserId(f"user id must be 1 to {MAX_USER_ID_LENGTH} characters")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in user_id):
        raise InvalidUserId("user id must not contain control characters")
    raw = user_id.encode("utf-8", "surrogatepass")
    if len(raw) <= _MAX_INLINE_BYTES:
        return "b" + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    return "h" + hashlib.sha256(raw).hexdigest()


def new_batch_id(now_ms: int | None = None) -> str:
    """A new batch id; later batches sort first. ``now_ms``: Unix epoch milliseconds."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    suffix = "".join(secrets.choice(_B32) for _ in range(6))
    return f"{_MAX_MS - now:013d}{suffix}"


def new_retag_id(now_ms: int | None = None) -> str:
    """A new re-tag job id: ``r`` + a batch id (so it carries its creation time and
    later jobs sort first)."""
    return "r" + new_batch_id(now_ms)


def retag_requested_ms(retag_id: str) -> int:
    """The Unix epoch milliseconds a re-tag id was made at (see :func:`new_retag_id`)."""
    return _MAX_MS - int(retag_id[1:14])


def is_retag_id(value: str) -> bool:
    return bool(RETAG_ID.match(value))


def image_id(batch_id: str, index: int) -> str:
    """The id of the ``index``-th (0-based, < 1000) image of ``batch_id``."""
    if not 0 <= index < 1000:
        raise ValueError("a batch holds at most 1000 images")
    return f"{batch_id}-{index:03d}"


def batch_of(image: str) -> str:
    """The batch id an image id belongs to."""
    return image.split("-", 1)[0]


def is_batch_id(value: str) -> bool:
    return bool(BATCH_ID.match(value))


def is_image_id(value: str) -> bool:
    return bool(IMAGE_ID.match(value))


def is_user_key(value: str) -> bool:
    """True for a value :func:`user_key` can return (checked on queue messages)."""
    return bool(USER_KEY.match(value))
