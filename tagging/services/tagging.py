"""Tagging: turn a queue message into a tagged (or failed) image.

Idempotent: tags are a pure function of the image bytes, every write replaces what it
names (deterministic keys), and the status is written last, so the same message run
twice, even concurrently, converges on one state. Storage errors propagate (the host
retries the message); an image that cannot be decoded is marked ``failed`` and not
retried.

A re-tag (a message naming a re-tag job, see :mod:`.retag`) runs the analysers again
over the stored original. It is skipped, and its job row marked ``tagged``, when the
image was already tagged by the current analysis version since the job was made (a
duplicate delivery, or a second job while one is pending). A re-tag that cannot
finish (the original is gone, or no longer decodes) leaves a tagged image as it was,
previous tags and version included, and marks its job row ``failed`` with the reason.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..adapters import NotFound, Storage
from ..core import keys
from ..core.analysis import ANALYSIS_VERSION, Analyser, Analysis, UndecodableImage, analyse, default_analysers
from ..core.analysis import budget as decode_budget
from ..core.records import ImageRecord, RetagItem, TagRequest, now_iso, parse_iso, to_iso
from ..core.tags import Tag, merge_tags
from ..core.vocabulary import ErrorCode, ErrorDetail, ImageStatus, RetagStatus, TagOutcome, TagSource, error_detail
from ..logs import event
from ..settings import Settings
from .duplicates import DuplicateCheck, DuplicateFinder, is_older
from .words import indexed_words

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What happened to one message.

    ``latency_ms`` (tagged or failed only): upload to the record's ``tagged_at``, logged
    with the ``tag`` event for the workbook's latency chart.
    """

    outcome: TagOutcome
    image_id: str | None = None
    reason: str | None = None
    latency_ms: int | None = None


class TagService:
    def __init__(
        self, settings: Settings, storage: Storage, analysers: Sequence[Analyser] | None = None,
        analysis_version: str = ANALYSIS_VERSION,
    ) -> None:  # fmt: skip
        """``analysis_version``: recorded on every image this service tags (tests that
        pass their own ``analysers`` may name theirs)."""
        self._settings = settings
        self._version = analysis_version
        self._storage = storage
        self._analysers = list(
            default_analysers(settings.store_gps, settings.nsfw_threshold) if analysers is None else analysers
        )
        self._duplicates = DuplicateFinder(storage)
        # Concurrent decodes share a budget sized from the instance's memory.
        decode_budget.configure(settings.instance_memory_mb)

    def process(self, request: TagRequest, dequeue_count: int = 1) -> Outcome:
        """Tag the image a request names (``dequeue_count``: the message's delivery,
        from 1). Raises StorageError on transient failures."""
        started = time.perf_counter()
        if not keys.is_image_id(request.image_id) or not keys.is_user_key(request.user_key):
            return self._log(Outcome(TagOutcome.DROPPED, request.image_id, "message names no valid image"), started)
        if request.retag_id is not None and not keys.is_retag_id(request.retag_id):
            return self._log(
                Outcome(TagOutcome.DROPPED, request.image_id, "message names no valid re-tag job"), started
            )
        outcome = self._tag(request, dequeue_count)
        return self._log(outcome, started, dequeue_count, request.force)

    def drop_undecodable(self, reason: str) -> Outcome:
        """A message that is no tag request (the queue binding could not decode it):
        logged as dropped, and consumed (a retry would fail the same way)."""
        return self._log(Outcome(TagOutcome.DROPPED, reason=reason), time.perf_counter())

    def _tag(self, request: TagRequest, dequeue_count: int) -> Outcome:
        user, image = request.user_key, request.image_id
        # The first delivery of a plain request is the common case, and its image is
        # ``queued``: the record is rebuilt from the original's metadata rather than read
        # (one storage call fewer). A redelivery or a forced re-check reads it, to skip
        # finished work and to find index rows of tags that no longer apply.
        read = request.force or dequeue_count > 1
        existing = self._storage.images.find(user, image) if read else None
        if request.retag_id is not None:
            done = self._retag_done(request, existing)
            if done is not None:
                return done
        elif existing is not None and existing.status == ImageStatus.TAGGED and not request.force:
            return Outcome(TagOutcome.SKIPPED, image, "already tagged")
        try:
            data, stored = self._storage.blobs.get_original(user, image)
        except NotFound:
            if not read:
                existing = self._storage.images.find(user, image)
            if existing is None:
                # Deleted by its owner, or an upload that died before it was accepted.
                return Outcome(TagOutcome.DROPPED, image, "no blob and no record")
            missing = error_detail(ErrorCode.BLOB_MISSING, "the original was deleted before it could be tagged")
            if self._keep_previous(request, existing, missing):
                return Outcome(TagOutcome.FAILED, image, ErrorCode.BLOB_MISSING)
            self._fail(existing, missing)
            self._retag_item(request, RetagStatus.FAILED, missing)
            return Outcome(TagOutcome.FAILED, image, ErrorCode.BLOB_MISSING, _latency_ms(existing))
        record = existing or stored  # a missing record is rebuilt from the original's metadata
        try:
            analysis = analyse(data, self._settings.max_image_pixels, self._analysers)
        except UndecodableImage as error:
            undecodable = error_detail(error.code, error.message)
            if self._keep_previous(request, record, undecodable):
                return Outcome(TagOutcome.FAILED, image, error.code)
            self._fail(record, undecodable)
            self._retag_item(request, RetagStatus.FAILED, undecodable)
            return Outcome(TagOutcome.FAILED, image, error.code, _latency_ms(record))

        self._storage.blobs.put_thumbnail(user, image, analysis.thumbnail)
        duplicate = self._duplicates.check(user, image, analysis.sha256, analysis.phash)
        previous = {t.name for t in record.tags}
        previous_words = set(indexed_words(record.facts))
        _apply(record, analysis, duplicate, self._version)
        self._storage.index.replace_rows(record, stale=previous - {t.name for t in record.tags})
        words = indexed_words(record.facts)
        if words or previous_words:  # most photos hold no text: no call at all
            self._storage.words.replace_rows(record, words, stale=previous_words - set(words))
        # Status last: "tagged" implies the index rows and thumbnail exist.
        if not self._commit(record):
            # Deleted while we worked: remove what this run wrote, keep it deleted.
            self._storage.index.delete_rows(user, image, {t.name for t in analysis.tags})
            if words:
                self._storage.words.delete_rows(user, image, words)
            self._storage.blobs.delete_image_blobs(user, image)
            self._duplicates.forget(user, image, analysis.phash)
            self._retag_item(request, RetagStatus.FAILED, _IMAGE_DELETED)
            return Outcome(TagOutcome.DROPPED, image, "deleted while tagging")
        self._retag_item(request, RetagStatus.TAGGED)
        self._recheck_newer(user, image, duplicate.newer)
        return Outcome(TagOutcome.TAGGED, image, latency_ms=_latency_ms(record))

    def _retag_done(self, request: TagRequest, existing: ImageRecord | None) -> Outcome | None:
        """The outcome of a re-tag message with nothing to do, or None to go on: the
        image is gone, or the current analysers tagged it since the job was made."""
        if existing is None:
            self._retag_item(request, RetagStatus.FAILED, _IMAGE_DELETED)
            return Outcome(TagOutcome.DROPPED, request.image_id, "no record")
        requested = to_iso(datetime.fromtimestamp(keys.retag_requested_ms(request.retag_id or "") / 1000, UTC))
        if (
            existing.status == ImageStatus.TAGGED
            and existing.analysis_version == self._version
            and (existing.tagged_at or "") >= requested
        ):
            self._retag_item(request, RetagStatus.TAGGED)
            return Outcome(TagOutcome.SKIPPED, request.image_id, "already re-tagged")
        return None

    def _keep_previous(self, request: TagRequest, record: ImageRecord, error: ErrorDetail) -> bool:
        """For a re-tag of a tagged image that cannot finish: leave the image as it was
        and mark the job's row failed; True when so handled."""
        if request.retag_id is None or record.status != ImageStatus.TAGGED:
            return False
        kept = error_detail(error["code"], f"{error['message']}; the previous tags are kept")
        self._retag_item(request, RetagStatus.FAILED, kept)
        return True

    def _retag_item(self, request: TagRequest, status: RetagStatus, error: ErrorDetail | None = None) -> None:
        """Record how this message ended on its re-tag job's row (written last)."""
        if request.retag_id is not None and keys.is_retag_id(request.retag_id):
            item = RetagItem(request.image_id, status, error, now_iso())
            self._storage.retags.set_item(request.user_key, request.retag_id, item)

    def _commit(self, record: ImageRecord) -> bool:
        """Write ``record`` over its entity; False when the image was deleted meanwhile.

        A missing entity whose original still exists was never written (the upload died
        after sending the message, or has not inserted it yet) and is created. A delete
        removes the original before the entity, so no original means deleted: nothing is
        written then, and a deleted image never comes back.
        """
        try:
            self._storage.images.replace_existing(record)
            return True
        except NotFound:
            pass
        if not self._storage.blobs.original_exists(record.user_key, record.id):
            return False
        if not self._storage.images.insert(record):
            self._storage.images.replace_existing(record)  # the upload's insert landed first
        return True

    def _recheck_newer(self, user: str, image: str, newer: list[str]) -> None:
        """Newer copies tagged before ``image`` registered did not see it: re-tag those
        that name no original, or one newer than ``image`` (three copies racing: the
        newest can see only the middle one, which is not the oldest)."""
        for other in newer:
            record = self._storage.images.find(user, other)
            if record is None or record.status != ImageStatus.TAGGED:
                continue
            original = record.facts.get("duplicate_of")
            if original is None or (original != image and is_older(image, str(original))):
                self._storage.queue.send(TagRequest(user, other, force=True))

    def mark_poisoned(self, request: TagRequest, dequeue_count: int | None = None) -> Outcome:
        """A request whose message exhausted its retries: its image, if still pending, fails."""
        started = time.perf_counter()
        record = self._storage.images.find(request.user_key, request.image_id)
        if record is None and keys.is_image_id(request.image_id) and keys.is_user_key(request.user_key):
            # The upload died before its record was written: rebuild it, so it can fail visibly.
            try:
                record = self._storage.blobs.get_original(request.user_key, request.image_id).record
            except NotFound:
                return self._log(Outcome(TagOutcome.DROPPED, request.image_id, "no blob and no record"), started)
        if request.retag_id is not None:
            self._retag_item(
                request, RetagStatus.FAILED,
                error_detail(ErrorCode.PROCESSING_FAILED, "re-tagging failed repeatedly; the previous tags are kept"),
            )  # fmt: skip
        if record is None or record.status != ImageStatus.QUEUED:
            return self._log(Outcome(TagOutcome.SKIPPED, request.image_id, "not pending"), started)
        self._fail(
            record,
            error_detail(ErrorCode.PROCESSING_FAILED, "tagging failed repeatedly; upload the image again to retry"),
        )
        outcome = Outcome(TagOutcome.FAILED, request.image_id, ErrorCode.PROCESSING_FAILED, _latency_ms(record))
        return self._log(outcome, started, dequeue_count, request.force)

    def _fail(self, record: ImageRecord, error: ErrorDetail) -> None:
        stale = {t.name for t in record.tags}
        if stale:
            self._storage.index.delete_rows(record.user_key, record.id, stale)
        stale_words = indexed_words(record.facts)
        if stale_words:  # a failed image is found by no search
            self._storage.words.delete_rows(record.user_key, record.id, stale_words)
        record.status = ImageStatus.FAILED
        record.error = error
        record.tags = []
        record.tagged_at = now_iso()
        self._commit(record)

    @staticmethod
    def _log(outcome: Outcome, started: float, dequeue_count: int | None = None, forced: bool = False) -> Outcome:
        """The ``tag`` event. ``forced=true`` marks a forced re-check (a duplicate found
        later re-tags an image tagged long ago): its ``latency_ms`` is the image's age,
        not the pipeline's delay, so the workbook leaves it out of the latency chart."""
        event(
            log,
            "tag",
            image_id=outcome.image_id,
            batch_id=keys.batch_of(outcome.image_id) if outcome.image_id else None,
            outcome=outcome.outcome,
            reason=outcome.reason,
            dequeue_count=dequeue_count,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            latency_ms=outcome.latency_ms,
            forced="true" if forced else None,
        )
        return outcome


_IMAGE_DELETED = error_detail(ErrorCode.IMAGE_DELETED, "the image was deleted")
_MILLISECOND = timedelta(milliseconds=1)


def _latency_ms(record: ImageRecord) -> int | None:
    """Milliseconds from ``uploaded_at`` to ``tagged_at`` (both as stored by
    :func:`~tagging.core.records.now_iso`: ISO 8601 UTC with milliseconds and a ``Z``,
    which ``datetime.fromisoformat`` reads from Python 3.11); None when either is missing
    or unreadable (e.g. blob metadata written by something else). Negative only when the
    uploading and tagging instances' clocks disagree; logged as measured."""
    try:
        return (parse_iso(record.tagged_at) - parse_iso(record.uploaded_at)) // _MILLISECOND  # type: ignore[arg-type]  # None: TypeError, below
    except (AttributeError, TypeError, ValueError):  # missing (None) or unreadable
        return None


def _apply(record: ImageRecord, analysis: Analysis, duplicate: DuplicateCheck, version: str) -> None:
    """Make ``record`` the tagged image ``analysis`` describes (duplicate tag included)."""
    if duplicate.original:
        confidence = 1.0 if duplicate.kind == "exact" else round(1 - (duplicate.distance or 0) / 64, 3)
        analysis.tags = merge_tags([*analysis.tags, Tag("duplicate", confidence, TagSource.DUPLICATES)])
        analysis.facts.update(
            duplicate_of=duplicate.original, duplicate_kind=duplicate.kind, duplicate_distance=duplicate.distance
        )
    record.tags = analysis.tags
    record.facts = analysis.facts
    record.sha256 = analysis.sha256
    record.phash = analysis.phash
    record.has_thumbnail = True
    record.tagged_at = now_iso()
    record.error = None
    record.analysis_version = version
    record.status = ImageStatus.TAGGED
