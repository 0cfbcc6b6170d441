"""Idempotent retries of uploads and re-tags: ``Idempotency-Key``, per user and
operation, remembered 24 hours.

A client sends one key per upload (or re-tag) and the same key on every retry of it. A
key is scoped to the caller and to the operation (:class:`IdempotentOperation`): the
same key used for an upload and for a re-tag names two unrelated requests, as the
IETF Idempotency-Key draft leaves a key's scope to the resource owner; reusing it for
another request *of the same operation* is still a conflict. The first request with a
key *claims* it (an insert-only entity) and reserves the batch (or job) id and time its
writes will use; when the request is accepted its answer is stored on the claim. Later
requests with that key and operation:

- same request (same fingerprint), answer stored: the stored answer, nothing written;
- same request, still running: ``idempotency_in_progress`` (409, ``Retry-After``);
- same request, claim older than the lease (the process died, or the attempt failed
  and gave the lease back): it takes the claim over and writes again under the *same*
  batch id and time. Every upload write is idempotent under its deterministic keys
  (blob overwrite, insert-only entity, batch upsert; a second tag message is harmless),
  so a retry converges on the first attempt's images: never lost, never duplicated;
- a different request: ``idempotency_conflict`` (409);
- a claim older than 24 hours counts as absent: the key starts a new request. So does
  a re-tag's claim stored before keys were scoped (it shares an upload's RowKey).

The *fingerprint* is what the request means, not its bytes: each file's name, declared
type and SHA-256 in order, and the metadata text. A multipart boundary is left out, so
a browser that re-encodes a form with a new boundary on a retry still matches, while a
raw upload's ``Content-Type`` and ``?filename=`` are in it.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar, cast

from ..adapters import Conflict, IdempotencyRecord, NotFound, StorageError
from ..adapters.idempotency import key_row
from ..core.records import to_iso
from ..core.vocabulary import ErrorCode, ErrorKind, IdempotentOperation
from ..logs import event
from .errors import ServiceError

log = logging.getLogger(__name__)

Answer = TypeVar("Answer", bound=Mapping[str, Any])  # a JSON object: the answer a key remembers

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
REMEMBER = timedelta(hours=24)  # a key is remembered at least this long
LEASE = timedelta(seconds=60)  # a running claim older than this may be taken over
IN_PROGRESS_RETRY_AFTER_SECONDS = 1
ATTEMPTS = 4  # claim races to lose before answering "in progress"

# Error codes of this module.
INVALID_KEY = ErrorCode.INVALID_IDEMPOTENCY_KEY
KEY_CONFLICT = ErrorCode.IDEMPOTENCY_CONFLICT
IN_PROGRESS = ErrorCode.IDEMPOTENCY_IN_PROGRESS

# How messages name each operation: (article, noun, what makes two requests differ).
_NAMES = {
    IdempotentOperation.UPLOAD: ("an", "upload", "other files or metadata"),
    IdempotentOperation.RETAG: ("a", "re-tag", "another image or scope"),
}


def check_key(raw: str | None, operation: IdempotentOperation) -> str | None:
    """The key of a request, None when it sent none; raises ServiceError 400
    ``invalid_idempotency_key`` unless it is 1-200 printable ASCII characters."""
    if raw is None:
        return None
    if not 1 <= len(raw) <= MAX_KEY_LENGTH or any(not 0x20 <= ord(c) <= 0x7E for c in raw):
        raise ServiceError(
            ErrorKind.INVALID,
            INVALID_KEY,
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters; send a new random UUID per "
            f"{_NAMES[operation][1]} and the same one on each retry of it",
        )
    return raw


def fingerprint(files: list[Any], metadata_text: str | None) -> str:
    """SHA-256 (hex) of what an upload request means: each file's name, declared type
    and content hash, in order, and the metadata text (boundary-independent)."""
    meaning = {
        "v": 1,
        "metadata": metadata_text,
        "files": [[f.filename, f.declared_type, hashlib.sha256(f.data).hexdigest(), len(f.data)] for f in files],
    }
    return hashlib.sha256(json.dumps(meaning, sort_keys=True).encode("ascii")).hexdigest()


def utc_now() -> datetime:
    return datetime.now(UTC)




class Table(Protocol):  # the adapter's IdempotencyTable, as this module uses it
    def insert(self, record: IdempotencyRecord) -> IdempotencyRecord | None: ...
    def find(self, user_key: str, key_hash: str) -> IdempotencyRecord | None: ...
    def replace_if_unchanged(self, record: IdempotencyRecord) -> IdempotencyRecord: ...


@dataclass
class Claim:
    """The outcome of :meth:`Idempotency.begin`: either an answer to replay
    (``replay``) or a claim to write under (``record``: its batch id and time)."""

    record: IdempotencyRecord
    replay: dict[str, Any] | None = None


class Idempotency:
    """Keys of one ``operation``; ``new_batch_id`` makes the id a claim reserves."""

    def __init__(
        self, table: Table, operation: IdempotentOperation, new_batch_id: Callable[[], str],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:  # fmt: skip
        self._table = table
        self._operation = operation
        self._new_batch_id = new_batch_id
        self._clock = clock

    def begin(self, user_key: str, key: str, request_fingerprint: str) -> Claim:
        """Claim ``key`` for this request, or find its stored answer. Raises
        ServiceError 409 (``idempotency_conflict`` / ``idempotency_in_progress``)."""
        key_hash = key_row(key, self._operation)
        article, noun, differs = _NAMES[self._operation]
        for _ in range(ATTEMPTS):
            now = self._clock()
            fresh = IdempotencyRecord(
                user_key, key_hash, request_fingerprint, created_at=now, lease_until=now + LEASE,
                batch_id=self._new_batch_id(), uploaded_at=to_iso(now), operation=self._operation,
            )  # fmt: skip
            claimed = self._table.insert(fresh)
            if claimed is not None:
                return Claim(claimed)
            current = self._table.find(user_key, key_hash)
            if current is None:  # pruned between the insert and the read: claim again
                continue
            if current.created_at + REMEMBER <= now or current.operation != self._operation:
                # Forgotten, or another operation's claim from before keys were scoped: a new request.
                taken = self._take(replace(fresh, etag=current.etag))
            elif current.fingerprint != request_fingerprint:
                raise ServiceError(
                    ErrorKind.CONFLICT,
                    KEY_CONFLICT,
                    f"this {HEADER} was used for a different {noun} in the last 24 hours ({differs}); send a "
                    f"new key for a new {noun}, and the same key only to retry the same one",
                )
            elif current.result is not None:
                return Claim(current, replay=current.result)
            elif current.lease_until > now:
                raise ServiceError(
                    ErrorKind.CONFLICT,
                    IN_PROGRESS,
                    f"{article} {noun} with this {HEADER} is still in progress; retry in "
                    f"{IN_PROGRESS_RETRY_AFTER_SECONDS} s to get its answer",
                    retry_after=IN_PROGRESS_RETRY_AFTER_SECONDS,
                )
            else:  # the attempt died or gave up: go on under the same batch id and time
                taken = self._take(replace(current, lease_until=now + LEASE))
                if taken is not None:
                    event(log, "idempotency_lease_taken_over", logging.WARNING, batch_id=current.batch_id)
            if taken is not None:
                return Claim(taken)
        raise ServiceError(
            ErrorKind.CONFLICT,
            IN_PROGRESS,
            f"another {noun} with this {HEADER} is being handled; retry in {IN_PROGRESS_RETRY_AFTER_SECONDS} s",
            retry_after=IN_PROGRESS_RETRY_AFTER_SECONDS,
        )

    def _take(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Replace the claim if nobody changed it since we read it; None if someone did."""
        try:
            return self._table.replace_if_unchanged(record)
        except (Conflict, NotFound):
            return None

    def finish(self, claim: Claim, result: Answer) -> Answer:
        """Store ``result`` as the key's answer; the answer to give (the first one
        stored, if a concurrent attempt that took the claim over stored one first).
        The images are accepted already: a failure here is logged, not raised."""
        try:
            self._table.replace_if_unchanged(replace(claim.record, result=dict(result)))
            return result
        except (Conflict, NotFound):  # taken over meanwhile: give the first stored answer
            try:
                stored = self._table.find(claim.record.user_key, claim.record.key_hash)
            except StorageError:
                stored = None
            if stored is not None and stored.result is not None and stored.batch_id == claim.record.batch_id:
                return cast(Answer, stored.result)  # the same request's answer, as stored
        except StorageError as error:
            event(log, "idempotency_answer_not_stored", logging.WARNING, batch_id=claim.record.batch_id,
                  error=type(error).__name__)  # fmt: skip
        return result

    def abandon(self, claim: Claim) -> None:
        """Give the lease back after a failed attempt, so a retry goes on at once (under
        the same batch id). Best effort: otherwise the lease runs out by itself."""
        with contextlib.suppress(StorageError):
            self._table.replace_if_unchanged(replace(claim.record, lease_until=self._clock() - timedelta(seconds=1)))
