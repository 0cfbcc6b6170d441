"""The API's JSON shapes of images, batches and re-tag jobs: pure functions of records
and the links :class:`~.links.Links` gives (see :mod:`.answers` for the shapes)."""
from __future__ import annotations

from ..core.records import BatchRecord, ImageRecord, RetagItem, RetagJob
from ..core.vocabulary import ImageStatus, RetagStatus
from .answers import BatchProgress, ImageDetail, ImageSummary, RetagAccepted, RetagProgress


def image_summary(record: ImageRecord, thumbnail_url: str | None) -> ImageSummary:
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
        "analysis_version": record.analysis_version,
        "thumbnail_url": thumbnail_url,
    }


def image_detail(record: ImageRecord, thumbnail_url: str | None, url: str | None) -> ImageDetail:
    """One image in full: the summary plus facts, size, type and the original's ``url``."""
    return {
        **image_summary(record, thumbnail_url),
        "facts": record.facts,
        "size": record.size,
        "content_type": record.content_type,
        "url": url,
    }


def batch_progress(batch: BatchRecord, images: list[ImageRecord], summaries: list[ImageSummary]) -> BatchProgress:
    """A batch's progress from its images (``summaries``: their listings, in order)."""
    counts = {status: 0 for status in ImageStatus}
    for image in images:
        counts[image.status] = counts.get(image.status, 0) + 1
    return {
        "batch_id": batch.id,
        "created_at": batch.created_at,
        "total": len(images),
        "queued": counts[ImageStatus.QUEUED],
        "tagged": counts[ImageStatus.TAGGED],
        "failed": counts[ImageStatus.FAILED],
        "rejected": batch.rejected,
        "done": counts[ImageStatus.QUEUED] == 0,
        "metadata": batch.metadata,
        "images": summaries,
    }


def retag_accepted(job: RetagJob) -> RetagAccepted:
    """The answer to a re-tag request (``total``: the images it queued)."""
    return {
        "retag_id": job.id,
        "created_at": job.created_at,
        "scope": job.scope,
        "analysis_version": job.analysis_version,
        "total": job.total,
    }


def retag_progress(job: RetagJob, items: list[RetagItem]) -> RetagProgress:
    """A re-tag job's progress from its per-image rows."""
    counts = {status: 0 for status in RetagStatus}
    for item in items:
        counts[item.status] += 1
    return {
        **retag_accepted(job),
        "total": len(items),
        "queued": counts[RetagStatus.QUEUED],
        "tagged": counts[RetagStatus.TAGGED],
        "failed": counts[RetagStatus.FAILED],
        "done": counts[RetagStatus.QUEUED] == 0,
        "images": [{"id": i.image_id, "status": i.status, "error": i.error} for i in items],
    }
