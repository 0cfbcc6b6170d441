"""The orphan sweeper: finds what a process that died between two writes left behind.

Two kinds, each re-queued (the tagger is idempotent, so a message too many is harmless):

- **An original with no record**, older than ``sweep_grace_seconds``: the upload died
  after the blob write and before the ``queued`` entity (and possibly before the
  message). A tag request is sent; the tagger rebuilds the record from the blob's
  metadata and creates the entity only while the original exists, so an image deleted
  meanwhile never comes back. An original whose name is not ``<user key>/<image id>``
  cannot be tagged or shown (no message can name it) and is **removed**.
- **A record still ``queued``** longer than ``sweep_stuck_seconds`` after its upload: its
  message was lost (or is very late). A tag request is sent again.

It also deletes ``Idempotency`` rows older than twice the time a key is remembered
(Table Storage has no TTL), at most ``sweep_max_items`` per run.

Bounded: one listing page of ``sweep_max_items`` originals (those within the grace
period are skipped) and at most ``sweep_max_items`` stuck records per run. The listing
resumes where the previous run stopped, on any instance: its position is a row in Table
Storage (:mod:`tagging.adapters.sweep_state`), read at the start of a run and moved past
a page only once every original of it was handled (a run that dies re-does that page next
time, never skips it), back to the first blob after the last page. Of two overlapping runs
from the same position only the first to finish moves it (ETag). So a large container is
covered over several runs. Idempotent: a second run re-sends at most the same requests.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from ..adapters import Storage
from ..core import keys
from ..core.records import TagRequest, to_iso
from ..logs import event
from ..settings import Settings
from .idempotency import REMEMBER

#: Idempotency rows are deleted once this old: past the 24 h a key is remembered, with
#: room for clock differences between instances.
IDEMPOTENCY_PRUNE_AGE = 2 * REMEMBER

log = logging.getLogger(__name__)


class Found(StrEnum):
    """What the sweeper did with one item."""

    REQUEUED = "requeued"  # a tag request was sent
    REMOVED = "removed"  # an original nothing can name was deleted
    HEALTHY = "healthy"  # an original with its record, or one still within the grace period


@dataclass
class SweepResult:
    """Counts of one run. ``scanned``: originals listed plus stuck records found."""

    requeued_orphans: int = 0
    requeued_stuck: int = 0
    removed: int = 0
    pruned: int = 0  # expired Idempotency rows deleted
    scanned: int = 0
    complete: bool = False  # the listing reached the end of the container in this run
    resumed: bool = False  # the listing started from a stored position, not the first blob

    @property
    def requeued(self) -> int:
        return self.requeued_orphans + self.requeued_stuck


def utc_now() -> datetime:
    return datetime.now(UTC)


class SweepService:
    def __init__(self, settings: Settings, storage: Storage, clock: Callable[[], datetime] = utc_now) -> None:
        self._settings = settings
        self._storage = storage
        self._clock = clock

    def sweep(self, past_due: bool = False) -> SweepResult:
        """One bounded pass; logs one ``sweep`` event. Raises StorageError (the next
        occurrence tries again; timers are not retried)."""
        started = time.perf_counter()
        now = self._clock()
        result = SweepResult()
        self._sweep_originals(now, result)
        self._sweep_stuck(now, result)
        result.pruned = self._storage.idempotency.prune(now - IDEMPOTENCY_PRUNE_AGE, self._settings.sweep_max_items)
        event(
            log,
            "sweep",
            requeued=result.requeued,
            requeued_orphans=result.requeued_orphans,
            requeued_stuck=result.requeued_stuck,
            removed=result.removed,
            pruned=result.pruned,
            scanned=result.scanned,
            complete="true" if result.complete else "false",
            resumed="true" if result.resumed else "false",
            past_due="true" if past_due else None,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return result

    def _sweep_originals(self, now: datetime, result: SweepResult) -> None:
        cutoff = now - timedelta(seconds=self._settings.sweep_grace_seconds)
        cursor = self._storage.sweep_state.read()
        result.resumed = cursor.continuation is not None
        limit = self._settings.sweep_max_items
        page, following = self._storage.blobs.list_originals(cutoff, limit, cursor.continuation)
        result.complete = following is None
        for original in page:
            result.scanned += 1
            found = self._original(original.name)
            if found is Found.REQUEUED:
                result.requeued_orphans += 1
            elif found is Found.REMOVED:
                result.removed += 1
        # Only now: a run that dies above leaves the position where it was (at least once).
        if not self._storage.sweep_state.advance(cursor, following, now):
            event(log, "sweep_position_kept", reason="another run moved it first")

    def _original(self, name: str) -> Found:
        user, _, image = name.partition("/")
        if not (keys.is_user_key(user) and keys.is_image_id(image)):
            self._storage.blobs.delete_original_named(name)
            event(log, "sweep_removed", logging.WARNING, reason="not an image blob name")
            return Found.REMOVED
        if self._storage.images.find(user, image) is not None:
            return Found.HEALTHY
        self._storage.queue.send(TagRequest(user, image))
        event(log, "sweep_requeued", image_id=image, batch_id=keys.batch_of(image), reason="no_record")
        return Found.REQUEUED

    def _sweep_stuck(self, now: datetime, result: SweepResult) -> None:
        cutoff = now - timedelta(seconds=self._settings.sweep_stuck_seconds)
        before = to_iso(cutoff)  # compared as the stored strings
        for user, image in self._storage.images.queued_before(before, self._settings.sweep_max_items):
            result.scanned += 1
            if not (keys.is_user_key(user) and keys.is_image_id(image)):
                continue  # not one of ours: the tagger would drop it
            self._storage.queue.send(TagRequest(user, image))
            result.requeued_stuck += 1
            event(log, "sweep_requeued", image_id=image, batch_id=keys.batch_of(image), reason="stuck_queued")
