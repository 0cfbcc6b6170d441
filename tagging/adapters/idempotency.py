"""Table Storage: remembered ``Idempotency-Key`` claims and answers of uploads and
re-tags.

One entity per (user, operation, key): PartitionKey = the caller's user key, RowKey =
:func:`key_row` (the SHA-256, hex, of the key, since a key may hold ``/ \\ # ?``,
which RowKeys forbid; prefixed ``retag|`` for a re-tag's). The entity is inserted
(never overwritten) to claim the key, and later replaced, with its ETag, to store the
answer or to pass the claim on. The table format lives here only: services see
:class:`IdempotencyRecord` and the adapters' errors.

Properties: ``Operation`` (``upload`` / ``retag``; absent from rows stored before keys
were scoped by operation, whose ``BatchId`` tells: a re-tag id for a re-tag's),
``Fingerprint`` (SHA-256 of what the request means), ``CreatedAt`` and
``LeaseUntil`` (ISO 8601 UTC with milliseconds, so they compare as strings), ``BatchId``
and ``UploadedAt`` (reserved by the claim, so a retry after a crash writes the same
keys), and once answered ``ResultParts`` + ``Result0``..``ResultN`` (the answer's JSON in
pieces below Table Storage's 64 KiB property limit).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from ..core import keys
from ..core.records import parse_iso, to_iso
from ..core.vocabulary import IdempotentOperation
from ..settings import Settings
from .errors import storage_call
from .tables import _Table

# A string property holds at most 64 KiB of UTF-16; a character outside the BMP (an
# emoji in a file name) takes 4 bytes, so 16,000 characters fit whatever they are.
RESULT_PART_CHARS = 16_000


def key_row(key: str, operation: IdempotentOperation) -> str:
    """The RowKey of an idempotency key of ``operation``: its SHA-256 (hex, 64 safe
    characters), after ``<operation>|`` except for an upload's (uploads' rows kept the
    RowKey they had before keys were scoped, so rows already stored stay valid)."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return digest if operation is IdempotentOperation.UPLOAD else f"{operation}|{digest}"


@dataclass
class IdempotencyRecord:
    """A claimed key. ``key_hash`` is its RowKey (:func:`key_row`); ``result`` is None
    while the request runs; ``operation`` what the key was claimed for; ``etag`` the
    entity's version as last read or written (None before the first write)."""

    user_key: str
    key_hash: str
    fingerprint: str
    created_at: datetime
    lease_until: datetime
    batch_id: str
    uploaded_at: str
    result: dict[str, Any] | None = None
    operation: IdempotentOperation = IdempotentOperation.UPLOAD
    etag: str | None = field(default=None, compare=False)


def record_to_entity(record: IdempotencyRecord) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": record.user_key,
        "RowKey": record.key_hash,
        "Operation": record.operation,
        "Fingerprint": record.fingerprint,
        "CreatedAt": to_iso(record.created_at),
        "LeaseUntil": to_iso(record.lease_until),
        "BatchId": record.batch_id,
        "UploadedAt": record.uploaded_at,
    }
    if record.result is not None:
        text = json.dumps(record.result, ensure_ascii=False, separators=(",", ":"))
        parts = [text[i : i + RESULT_PART_CHARS] for i in range(0, len(text), RESULT_PART_CHARS)] or [""]
        entity["ResultParts"] = len(parts)
        entity.update({f"Result{index}": part for index, part in enumerate(parts)})
    return entity


def record_from_entity(entity: dict[str, Any], etag: str | None = None) -> IdempotencyRecord:
    parts = int(entity.get("ResultParts") or 0)
    result = json.loads("".join(entity[f"Result{index}"] for index in range(parts))) if parts else None
    batch_id = entity.get("BatchId", "")
    stored_operation = entity.get("Operation")
    if stored_operation:
        operation = IdempotentOperation(stored_operation)
    else:  # stored before keys were scoped: a re-tag's claim reserved a re-tag id
        operation = IdempotentOperation.RETAG if keys.is_retag_id(batch_id) else IdempotentOperation.UPLOAD
    return IdempotencyRecord(
        user_key=entity["PartitionKey"],
        key_hash=entity["RowKey"],
        fingerprint=entity.get("Fingerprint", ""),
        created_at=parse_iso(entity["CreatedAt"]),
        lease_until=parse_iso(entity["LeaseUntil"]),
        batch_id=batch_id,
        uploaded_at=entity.get("UploadedAt", ""),
        result=result,
        operation=operation,
        etag=etag,
    )


def _etag(metadata: Any) -> str | None:
    return (metadata or {}).get("etag") if isinstance(metadata, dict) else None


class IdempotencyTable(_Table):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.idempotency_table)

    @storage_call
    def insert(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Claim: create the entity; the record with its ETag, or None (and no change)
        when the key is already claimed."""
        try:
            metadata = self._table().create_entity(record_to_entity(record))
        except ResourceExistsError:
            return None
        return replace(record, etag=_etag(metadata))

    @storage_call
    def find(self, user_key: str, key_hash: str) -> IdempotencyRecord | None:
        try:
            entity = self._table().get_entity(user_key, key_hash)
        except ResourceNotFoundError:
            return None
        return record_from_entity(entity, entity.metadata.get("etag"))

    @storage_call
    def replace_if_unchanged(self, record: IdempotencyRecord) -> IdempotencyRecord:
        """Replace the entity only if it is still at ``record.etag``; the record with its
        new ETag. Raises Conflict when it changed, NotFound when it is gone."""
        metadata = self._table().update_entity(
            record_to_entity(record),
            mode=UpdateMode.REPLACE,
            etag=record.etag,
            match_condition=MatchConditions.IfNotModified,
        )
        return replace(record, etag=_etag(metadata))

    @storage_call
    def prune(self, created_before: datetime, limit: int = 1000) -> int:
        """Delete up to ``limit`` entities created before ``created_before`` (any user);
        how many were deleted. Table Storage has no TTL: a sweeper calls this. An
        entity already gone is not an error."""
        table = self._table()
        pager = table.query_entities(
            "CreatedAt lt @cutoff", parameters={"cutoff": to_iso(created_before)}, select=["PartitionKey", "RowKey"],
            results_per_page=min(limit, 1000),
        )  # fmt: skip
        deleted = 0
        for entity in pager:
            if deleted >= limit:
                break
            try:
                table.delete_entity(entity["PartitionKey"], entity["RowKey"])
            except ResourceNotFoundError:
                continue
            deleted += 1
        return deleted
