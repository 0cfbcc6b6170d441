"""The API's answers: the JSON shapes the services return and the bindings send.

TypedDicts, so a shape is named where it is made and where it is read; the wire
format is exactly these keys (see the binding's ``openapi.json``).
"""
from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from ..core.tags import TagDict
from ..core.vocabulary import ErrorDetail, ImageStatus, RetagScope, RetagStatus


class ImageSummary(TypedDict):
    """An image as listed (list, search, batch): no facts. ``thumbnail_url``: a SAS
    URL, or None (no thumbnail, aged out, or the connection cannot sign)."""

    id: str
    filename: str
    status: ImageStatus
    batch_id: str
    uploaded_at: str
    tagged_at: str | None
    tags: list[TagDict]
    error: ErrorDetail | None
    analysis_version: str | None
    thumbnail_url: str | None


class ImageDetail(ImageSummary):
    """One image in full; ``url``: the original's SAS URL or None, as ``thumbnail_url``."""

    facts: dict[str, Any]
    size: int  # bytes
    content_type: str
    url: str | None


class ImagePage(TypedDict):
    """GET /api/images: a page, newest first; ``continuation`` None on the last page.
    ``tag`` and ``text`` (the query's words) echo a search."""

    images: list[ImageSummary]
    continuation: str | None
    tag: NotRequired[str]
    text: NotRequired[list[str]]


class BatchProgress(TypedDict):
    """GET /api/batches/{id}: counts per status, ``done`` when none is queued."""

    batch_id: str
    created_at: str
    total: int
    queued: int
    tagged: int
    failed: int
    rejected: int  # files refused at upload
    done: bool
    metadata: dict[str, Any]
    images: list[ImageSummary]


class TagCount(TypedDict):
    name: str
    count: int


class TagList(TypedDict):
    """GET /api/tags: the user's tags, most used first."""

    tags: list[TagCount]


class UploadedImage(TypedDict):
    """One accepted file of an upload (the binding adds ``url``)."""

    id: str
    filename: str
    status: ImageStatus
    url: NotRequired[str]


class Rejection(TypedDict):
    """One refused file of an upload."""

    filename: str
    error: ErrorDetail


class UploadAnswer(TypedDict):
    """POST /api/images (202), as an Idempotency-Key remembers it."""

    batch_id: str
    images: list[UploadedImage]
    rejected: list[Rejection]


class RetagAccepted(TypedDict):
    """POST /api/images/{id}/retag and /api/retags (202)."""

    retag_id: str
    created_at: str
    scope: RetagScope
    analysis_version: str
    total: int


class RetagImage(TypedDict):
    id: str
    status: RetagStatus
    error: ErrorDetail | None


class RetagProgress(RetagAccepted):
    """GET /api/retags/{id}: counts per status, ``done`` when none is queued."""

    queued: int
    tagged: int
    failed: int
    done: bool
    images: list[RetagImage]


class Health(TypedDict):
    """GET /api/health: ``status`` ``ok`` or ``unavailable``; which services answer."""

    status: str
    storage: dict[str, bool]


class ErrorBody(TypedDict):
    """Every 4xx/5xx JSON body."""

    error: ErrorDetail
