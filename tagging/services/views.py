"""The API's JSON shapes of images and batches."""
from __future__ import annotations

from typing import Any

from ..adapters import Storage
from ..core.records import TAGGED, ImageRecord
from ..core.tags import Tag


def image_summary(record: ImageRecord, storage: Storage) -> dict[str, Any]:
    """An image as listed (list, search, batch): no facts, but tags and thumbnail."""
    return {
        "id": record.id,
        "filename": record.filename,
        "status": record.status,
        "batch_id": record.batch_id,
        "uploaded_at": record.uploaded_at,
        "tagged_at": record.tagged_at,
        "tags": [t.to_dict() for t in record.tags],
        "error": record.error,
        "thumbnail_url": storage.blobs.thumbnail_url(record.user_key, record.id) if record.has_thumbnail else None,
    }


def image_detail(record: ImageRecord, storage: Storage) -> dict[str, Any]:
    """One image in full: tags, facts, SAS URLs of the original and thumbnail."""
    view = image_summary(record, storage)
    view.update(
        {
            "facts": record.facts,
            "size": record.size,
            "content_type": record.content_type,
            "url": storage.blobs.original_url(record.user_key, record.id, record.filename),
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
    )
