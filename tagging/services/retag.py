"""Re-tagging: run the current analysers again over images already stored.

A re-tag *job* (id ``r`` + a batch-like id, so it carries its creation time) names the
images it covers: one image, all of the user's, or only those whose
``analysis_version`` is not the current one (``outdated``). Images still ``queued``
are left out (their pending tagging uses the current analysers anyway). Writes: the
job's rows (:class:`~tagging.adapters.tables.RetagTable`: the job and a ``queued`` row
per image), then a tag request per image carrying the job id. The tagger re-tags from
the stored original (never uploaded again), sets the image's row to ``tagged`` or
``failed`` last, and skips an image the current analysers tagged since the job was
made, so a duplicate delivery or an overlapping second job does no second analysis.

An ``Idempotency-Key`` works as for uploads (:mod:`.idempotency`, the same table, keys
scoped apart from uploads'): the claim reserves the job id, so a retried request
rewrites the same rows and re-sends the same messages (harmless, see above) and answers
the same job.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import cast

from ..adapters import NotFound, Storage
from ..core import keys
from ..core.analysis.pipeline import ANALYSIS_VERSION
from ..core.records import RetagJob, TagRequest, now_iso
from ..core.vocabulary import ErrorCode, ErrorKind, IdempotentOperation, ImageStatus, RetagScope
from ..logs import event
from ..settings import Settings
from .answers import RetagAccepted, RetagProgress
from .errors import ServiceError
from .idempotency import Claim, Idempotency, check_key
from .views import retag_accepted, retag_progress

log = logging.getLogger(__name__)

SEND_CONCURRENCY = 8  # parallel queue sends of one job


@dataclass
class RetagResult:
    answer: RetagAccepted
    replayed: bool = False


def _fingerprint(scope: RetagScope, image_id: str | None) -> str:
    meaning = {"v": 1, "retag": scope, "image": image_id}
    return hashlib.sha256(json.dumps(meaning, sort_keys=True).encode("ascii")).hexdigest()


def parse_outdated(raw: str | None) -> bool:
    """``?outdated=`` -> bool: ``true``/``false`` (absent or empty: false)."""
    if raw is None or raw == "":
        return False
    if raw in ("true", "false"):
        return raw == "true"
    raise ServiceError(ErrorKind.INVALID, ErrorCode.INVALID_OUTDATED, "outdated must be true or false")


class RetagService:
    def __init__(self, settings: Settings, storage: Storage, analysis_version: str = ANALYSIS_VERSION) -> None:
        self._settings = settings
        self._storage = storage
        self._version = analysis_version
        self._idempotency = Idempotency(storage.idempotency, IdempotentOperation.RETAG, keys.new_retag_id)

    def retag_image(self, user_key: str, image_id: str, idempotency_key: str | None = None) -> RetagResult:
        """Queue a re-tag of one image. Raises ServiceError 404 for an unknown image,
        409 ``image_queued`` for one not tagged yet."""
        key = check_key(idempotency_key, IdempotentOperation.RETAG)
        record = self._storage.images.find(user_key, image_id) if keys.is_image_id(image_id) else None
        if record is None:
            raise ServiceError(ErrorKind.NOT_FOUND, ErrorCode.NOT_FOUND, "no image with that id")
        if record.status == ImageStatus.QUEUED:
            raise ServiceError(
                ErrorKind.CONFLICT,
                ErrorCode.IMAGE_QUEUED,
                "the image is still queued for tagging, by the current analysers; wait for it",
            )
        return self._start(
            user_key, RetagScope.IMAGE, lambda: [image_id], key, _fingerprint(RetagScope.IMAGE, image_id)
        )

    def retag_all(self, user_key: str, outdated: bool, idempotency_key: str | None = None) -> RetagResult:
        """Queue a re-tag of every tagged or failed image of the user; with
        ``outdated``, only of those whose analysis version is not the current one."""
        key = check_key(idempotency_key, IdempotentOperation.RETAG)
        scope = RetagScope.OUTDATED if outdated else RetagScope.ALL

        def select() -> list[str]:
            return [
                image_id
                for image_id, status, version in self._storage.images.versions(user_key)
                if status != ImageStatus.QUEUED
                and keys.is_image_id(image_id)
                and (not outdated or version != self._version)
            ]

        return self._start(user_key, scope, select, key, _fingerprint(scope, None))

    def get_job(self, user_key: str, retag_id: str) -> RetagProgress:
        """A job's progress, read from one RowKey range (the job's rows), like a batch's."""
        if not keys.is_retag_id(retag_id):
            raise ServiceError(ErrorKind.NOT_FOUND, ErrorCode.NOT_FOUND, "no re-tag job with that id")
        try:
            job = self._storage.retags.get_job(user_key, retag_id)
        except NotFound:
            raise ServiceError(ErrorKind.NOT_FOUND, ErrorCode.NOT_FOUND, "no re-tag job with that id") from None
        return retag_progress(job, self._storage.retags.items(user_key, retag_id))

    def _start(
        self,
        user_key: str,
        scope: RetagScope,
        select: Callable[[], list[str]],
        key: str | None,
        request_fingerprint: str,
    ) -> RetagResult:
        if key is None:
            return RetagResult(self._write(user_key, scope, keys.new_retag_id(), now_iso(), select()))
        claim: Claim = self._idempotency.begin(user_key, key, request_fingerprint)
        if claim.replay is not None:
            event(log, "retag", retag_id=claim.record.batch_id, outcome="replayed")
            return RetagResult(cast(RetagAccepted, claim.replay), replayed=True)
        try:
            answer = self._write(user_key, scope, claim.record.batch_id, claim.record.uploaded_at, select())
        except BaseException:
            self._idempotency.abandon(claim)
            raise
        return RetagResult(self._idempotency.finish(claim, answer))

    def _write(
        self, user_key: str, scope: RetagScope, retag_id: str, created_at: str, image_ids: list[str]
    ) -> RetagAccepted:
        started = time.perf_counter()
        job = RetagJob(user_key, retag_id, created_at, scope, self._version, total=len(image_ids))
        self._storage.retags.put_job(job, image_ids)

        def send(image_id: str) -> None:
            self._storage.queue.send(TagRequest(user_key, image_id, force=True, retag_id=retag_id))

        if len(image_ids) <= 1:
            for image_id in image_ids:
                send(image_id)
        else:
            with ThreadPoolExecutor(max_workers=SEND_CONCURRENCY) as pool:
                list(pool.map(send, image_ids))  # list(): re-raise a failed send
        event(log, "retag", retag_id=retag_id, scope=scope, total=len(image_ids), outcome="queued",
              duration_ms=round((time.perf_counter() - started) * 1000, 1))  # fmt: skip
        return retag_accepted(job)
