"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS by tools/fuzz.py).

Where JSON Schema cannot say what is valid, positive cases are made valid here, so
that positive_data_acceptance stays strict and the stateful links (upload -> get ->
batch -> delete -> get 404) run on images that really exist:

- upload bodies: real images (random size, colour and format, made with Pillow) in
  place of random bytes, which are never images; metadata kept under 8 KiB;
- ``continuation``: a token as the API issues them (it is opaque, the schema only
  bounds its length).

Negative cases are left as generated: the app must reject them.
"""
from __future__ import annotations

import io
import json
import random
from typing import Any

import schemathesis
from PIL import Image
from schemathesis.core.parameters import ParameterLocation
from schemathesis.transport.serialization import Binary

from tagging.services.paging import encode_token

MAX_METADATA_BYTES = 8 * 1024
FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")
_random = random.Random()


def image_bytes(rng: random.Random = _random) -> bytes:
    """A small real image in one of the accepted formats."""
    size = (rng.randint(1, 48), rng.randint(1, 48))
    colour = tuple(rng.randrange(256) for _ in range(3))
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, rng.choice(FORMATS))
    return buffer.getvalue()


def _positive(case: Any, location: ParameterLocation) -> bool:
    """A positive case (nothing in it meant to be invalid): only those are made valid.
    Negative cases can reach the hook without their metadata yet: left alone too."""
    meta = case.meta
    return meta is not None and not (meta.generation.mode.is_negative or meta.is_negative_at(location))


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    operation = case.operation
    route = (operation.method.upper(), operation.path)
    if route == ("POST", "/api/images") and _positive(case, ParameterLocation.BODY):
        if isinstance(case.body, dict):  # multipart/form-data
            files = case.body.get("file")
            count = len(files) if isinstance(files, list) and files else 1
            # Binary, as Schemathesis generates binary values: the case is revalidated
            # after a hook edits it, and plain bytes would not read as a JSON string.
            case.body["file"] = [Binary(image_bytes()) for _ in range(min(count, 4))]
            metadata = case.body.get("metadata")
            if metadata is not None and len(json.dumps(metadata).encode()) > MAX_METADATA_BYTES:
                case.body["metadata"] = {}
        elif isinstance(case.body, (Binary, bytes, bytearray, str)):  # image/*
            case.body = Binary(image_bytes())
    if (
        route == ("GET", "/api/images")
        and _positive(case, ParameterLocation.QUERY)
        and case.query
        and case.query.get("continuation") not in (None, "")
    ):
            batch = "".join(_random.choice("0123456789") for _ in range(13))
            batch += "".join(_random.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(6))
            case.query["continuation"] = encode_token(f"{batch}-{_random.randrange(1000):03d}")
    # The values set here are what this case means to send, not edits of it: without
    # this Schemathesis revalidates the body, cannot validate binary data against JSON
    # Schema, and relabels the (valid) upload as a negative case.
    case._record_starting_state()
    return case
