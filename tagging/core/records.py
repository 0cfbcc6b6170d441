"""Plain records of what the app stores; adapters map them to and from entities."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .tags import Tag
from .vocabulary import ErrorDetail, ImageStatus, RetagScope, RetagStatus


def to_iso(moment: datetime) -> str:
    """``moment`` as stored: UTC ISO 8601 with milliseconds and a ``Z`` (fixed width, so
    stored times sort and compare as strings)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    """The current UTC time as stored (see :func:`to_iso`)."""
    return to_iso(datetime.now(UTC))


def parse_iso(text: str) -> datetime:
    """An aware UTC datetime from a stored time (a naive one is taken as UTC); raises
    ValueError for text that is not ISO 8601."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class ImageRecord:
    """One uploaded image. Times are ISO 8601 UTC strings; ``size`` is in bytes."""

    user_key: str
    id: str
    batch_id: str
    filename: str
    content_type: str
    size: int
    uploaded_at: str
    status: ImageStatus = ImageStatus.QUEUED
    tags: list[Tag] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    tagged_at: str | None = None
    error: ErrorDetail | None = None
    has_thumbnail: bool = False
    sha256: str | None = None
    phash: str | None = None
    analysis_version: str | None = None  # ANALYSIS_VERSION of the analysers that tagged it


@dataclass
class BatchRecord:
    """One upload request. ``accepted``/``rejected`` count files; times as above."""

    user_key: str
    id: str
    created_at: str
    accepted: int
    rejected: int
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class RetagItem:
    """One image of a re-tag job: its status and, when failed, why."""

    image_id: str
    status: RetagStatus = RetagStatus.QUEUED
    error: ErrorDetail | None = None
    updated_at: str | None = None


@dataclass
class RetagJob:
    """A re-tag request of one user: ``analysis_version`` is the version it asked for;
    ``total`` the images it queued."""

    user_key: str
    id: str
    created_at: str
    scope: RetagScope
    analysis_version: str
    total: int


@dataclass(frozen=True)
class TagRequest:
    """The queue message: references only, never image bytes."""

    user_key: str
    image_id: str
    force: bool = False  # re-tag even when already tagged (duplicate re-checks)
    retag_id: str | None = None  # the re-tag job asking (implies force); see keys.new_retag_id

    VERSION = 1
