"""Which links an image's answers carry: read-only SAS URLs of its blobs, or None.

The query service asks a :class:`Links` for the URLs and hands them to the pure view
functions of :mod:`.views`; signing makes no request to storage (with an identity,
a delegation-key fetch about once a day).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from ..core.records import ImageRecord, parse_iso


class Signer(Protocol):
    """What signs blob URLs (the adapters' BlobStore): None when the connection cannot."""

    def original_url(self, user_key: str, image_id: str, filename: str | None = None) -> str | None: ...

    def thumbnail_url(self, user_key: str, image_id: str) -> str | None: ...


def aged_out(uploaded_at: str, retention_days: int, now: datetime | None = None) -> bool:
    """Whether an image uploaded at ``uploaded_at`` (ISO 8601) is older than
    ``retention_days`` days, so the storage lifecycle rule may have deleted its blobs.
    Always False when retention is off (0) or the time cannot be read."""
    if retention_days <= 0 or not uploaded_at:
        return False
    try:
        uploaded = parse_iso(uploaded_at)
    except ValueError:
        return False
    return (now or datetime.now(UTC)) - uploaded > timedelta(days=retention_days)


class Links:
    """The SAS URLs of an image's original and thumbnail. None for an image past
    ``retention_days`` (its blobs are deleted then: nothing is signed), for a missing
    thumbnail, or when the connection cannot sign. ``now``: for tests."""

    def __init__(self, signer: Signer, retention_days: int = 0, now: datetime | None = None) -> None:
        self._signer = signer
        self._retention_days = retention_days
        self._now = now

    def thumbnail(self, record: ImageRecord) -> str | None:
        if not record.has_thumbnail or aged_out(record.uploaded_at, self._retention_days, self._now):
            return None
        return self._signer.thumbnail_url(record.user_key, record.id)

    def original(self, record: ImageRecord) -> str | None:
        """Shown inline under the record's filename."""
        if aged_out(record.uploaded_at, self._retention_days, self._now):
            return None
        return self._signer.original_url(record.user_key, record.id, record.filename)
