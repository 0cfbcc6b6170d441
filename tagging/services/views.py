"""The API's JSON shapes of images and batches."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from ..adapters import Storage
from ..core.records import TAGGED, ImageRecord, parse_iso
from ..core.tags import Tag


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
    return (now or datetime.now(timezone.utc)) - uploaded > timedelta(days=retention_days)


def image_summary(
    record: ImageRecord, storage: Storage, retention_days: int = 0, now: datetime | None = None
) -> dict[str, Any]:
    """An image as listed (list, search, batch): no facts, but tags and thumbnail.
    ``thumbnail_url`` is None without a thumbnail, when the connection cannot sign, or
    when the image is older than ``retention_days`` (its blobs are deleted then)."""
    links = record.has_thumbnail and not aged_out(record.uploaded_at, retention_days, now)
    return {
        "id": record.id,
        "filename": record.filename,
        "status": record.status,
        "batch_id": record.batch_id,
        "uploaded_at": record.uploaded_at,
        "tagged_at": record.tagged_at,
        "tags": [t.to_dict() for t in record.tags],
        "error": record.error,
        "analysis_version": record.analysis_version,
        "thumbnail_url": storage.blobs.thumbnail_url(record.user_key, record.id) if links else None,
    }


def image_detail(
    record: ImageRecord, storage: Storage, retention_days: int = 0, now: datetime | None = None
) -> dict[str, Any]:
    """One image in full: tags, facts, SAS URLs of the original and thumbnail (None as
    in :func:`image_summary`; ``url`` also None when the image aged out)."""
    view = image_summary(record, storage, retention_days, now)
    expired = aged_out(record.uploaded_at, retention_days, now)
    view.update(
        {
            "facts": record.facts,
            "size": record.size,
            "content_type": record.content_type,
            "url": None if expired else storage.blobs.original_url(record.user_key, record.id, record.filename),
        }
    )
    return view


def index_summary(record: ImageRecord) -> dict[str, Any]:
    """What a tag-index row keeps of an image, to answer searches without point reads."""
    return {
        "filename": record.filename,
        "batch_id": record.batch_id,
        "uploaded_at": record.uploaded_at,
        "tagged_at": record.tagged_at,
        "status": TAGGED,
        "tags": [t.to_dict() for t in record.tags],
        "has_thumbnail": record.has_thumbnail,
        "analysis_version": record.analysis_version,
    }


def record_from_index_summary(user_key: str, image_id: str, summary: dict[str, Any]) -> ImageRecord:
    """The record :func:`index_summary` was made from, as far as a listing needs it."""
    return ImageRecord(
        user_key=user_key,
        id=image_id,
        batch_id=summary.get("batch_id", ""),
        filename=summary.get("filename", ""),
        content_type="",
        size=0,
        uploaded_at=summary.get("uploaded_at", ""),
        status=summary.get("status", TAGGED),
        tags=[Tag.from_dict(t) for t in summary.get("tags", [])],
        tagged_at=summary.get("tagged_at"),
        has_thumbnail=bool(summary.get("has_thumbnail")),
        analysis_version=summary.get("analysis_version"),
    )
