"""Opaque continuation tokens: base64url JSON naming the next image id."""
from __future__ import annotations

import base64
import binascii
import json

from ..core.keys import is_image_id
from ..core.vocabulary import ErrorCode, ErrorKind
from .errors import ServiceError

MIN_LIMIT, MAX_LIMIT, DEFAULT_LIMIT = 1, 100, 50


def parse_limit(raw: str | None) -> int:
    """``limit`` query parameter -> 1..100 (default 50); ServiceError otherwise."""
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not MIN_LIMIT <= int(raw) <= MAX_LIMIT:
        raise ServiceError(
            ErrorKind.INVALID, ErrorCode.INVALID_LIMIT, f"limit must be a whole number from {MIN_LIMIT} to {MAX_LIMIT}"
        )
    return int(raw)


def encode_token(next_image_id: str) -> str:
    raw = json.dumps({"n": next_image_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None) -> str | None:
    """The image id a page starts at, or None for the first page."""
    if token is None or token == "":
        return None
    bad = ServiceError(
        ErrorKind.INVALID,
        ErrorCode.INVALID_CONTINUATION,
        "continuation is not a token this API returned; omit it to start over",
    )
    if len(token) > 200:
        raise bad
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, dict) or not isinstance(data.get("n"), str) or not is_image_id(data["n"]):
        raise bad
    return data["n"]
