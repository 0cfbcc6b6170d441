"""Table Storage: images, batches and the tag index.

Layout (every PartitionKey is the caller's user key, so a user's data is one partition
per table and no query crosses users):

- ``Images``:   RowKey = image id (sorts newest first; a batch is a contiguous range).
- ``Batches``:  RowKey = batch id; metadata and counts of the upload request.
- ``TagIndex``: RowKey = ``<tag>|<image id>``; one row per user + tag + image, holding a
  summary of the image (``Summary``, JSON: :func:`index_summary`) so a search reads only
  the matching rows and answers with partial records (:func:`record_from_index_summary`).
  The *text index* shares the table in a partition of its own per user,
  ``<user key>|text`` (so listing a user's tags never reads it): RowKey =
  ``<word>|<image id>``, one row per word read in the image (``facts.text.words``),
  with the same summary plus ``Words`` (all the image's words, JSON) so a search for
  several words reads only the rows of one of them.
- ``Batches`` also holds re-tag jobs: RowKey = ``<retag id>`` (``r`` + 19 characters,
  sorting after every batch id) with ``Kind`` = ``retag``, and one row per image of the
  job, RowKey = ``<retag id>|<image id>``, whose ``Status`` the tagger sets, so a job's
  progress is one RowKey range like a batch's.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from ..core.records import BatchRecord, ImageRecord, RetagItem, RetagJob
from ..core.tags import Tag
from ..core.vocabulary import ImageStatus, RetagScope, RetagStatus
from ..settings import Settings
from . import _table_requests
from ._ensure import ensure_once
from .clients import get_clients
from .errors import NotFound, storage_call

TAG_SEPARATOR = "|"  # not in the tag alphabet; "}" is the next code point
TRANSACTION_LIMIT = 100  # operations per Table batch transaction


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def image_to_entity(record: ImageRecord) -> dict[str, Any]:
    return {
        "PartitionKey": record.user_key,
        "RowKey": record.id,
        "BatchId": record.batch_id,
        "Filename": record.filename,
        "ContentType": record.content_type,
        "Size": record.size,
        "UploadedAt": record.uploaded_at,
        "Status": record.status,
        "Tags": _json([t.to_dict() for t in record.tags]),
        "Facts": _json(record.facts),
        "TaggedAt": record.tagged_at or "",
        "Error": _json(record.error) if record.error else "",
        "HasThumbnail": record.has_thumbnail,
        "Sha256": record.sha256 or "",
        "Phash": record.phash or "",
        "AnalysisVersion": record.analysis_version or "",
    }


def image_from_entity(entity: dict[str, Any]) -> ImageRecord:
    return ImageRecord(
        user_key=entity["PartitionKey"],
        id=entity["RowKey"],
        batch_id=entity.get("BatchId", ""),
        filename=entity.get("Filename", ""),
        content_type=entity.get("ContentType", ""),
        size=int(entity.get("Size", 0) or 0),
        uploaded_at=entity.get("UploadedAt", ""),
        status=ImageStatus(entity.get("Status") or ImageStatus.QUEUED),
        tags=[Tag.from_dict(t) for t in json.loads(entity.get("Tags") or "[]")],
        facts=json.loads(entity.get("Facts") or "{}"),
        tagged_at=entity.get("TaggedAt") or None,
        error=json.loads(entity["Error"]) if entity.get("Error") else None,
        has_thumbnail=bool(entity.get("HasThumbnail", False)),
        sha256=entity.get("Sha256") or None,
        phash=entity.get("Phash") or None,
        analysis_version=entity.get("AnalysisVersion") or None,
    )


def _upsert_transaction(table: TableClient, entities: list[dict[str, Any]]) -> None:
    """Insert-or-merge ``entities`` of one partition in one transaction (see
    :mod:`._table_requests`: the SDK's ``submit_transaction`` costs ~4x the CPU)."""
    if _table_requests.lean(table):
        _table_requests.upsert_transaction(table, entities)
    else:
        table.submit_transaction([("upsert", entity) for entity in entities])


def _write(table: TableClient, entity: dict[str, Any], mode: str) -> None:
    """insert / replace (must exist) / upsert (insert-or-merge) one entity; see
    :mod:`._table_requests` (the same request as the SDK's, ~0.5 ms less CPU)."""
    if _table_requests.lean(table):
        _table_requests.write_entity(table, entity, mode)
    elif mode == "insert":
        table.create_entity(entity)
    elif mode == "replace":
        table.update_entity(entity, mode=UpdateMode.REPLACE)
    else:
        table.upsert_entity(entity, mode=UpdateMode.REPLACE)


def _delete_quietly(table: TableClient, pk: str, rk: str) -> None:
    """Delete one entity; one that is already gone is not an error."""
    with contextlib.suppress(ResourceNotFoundError):
        table.delete_entity(pk, rk)


def _range_filter() -> str:
    return "PartitionKey eq @pk and RowKey ge @start and RowKey lt @end"


class _Table:
    def __init__(self, settings: Settings, name: str) -> None:
        self._name = name
        self._client: TableClient = get_clients(settings).table.get_table_client(name)
        self._service = get_clients(settings).table

    def _table(self) -> TableClient:
        ensure_once(f"table:{self._client.url}/{self._name}", lambda: self._service.create_table(self._name))
        return self._client

    def _range(
        self, pk: str, start: str, end: str, limit: int | None, select: list[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Entities of partition ``pk`` with start <= RowKey < end, in key order."""
        pager = self._table().query_entities(
            _range_filter(),
            parameters={"pk": pk, "start": start, "end": end},
            results_per_page=min(limit, 1000) if limit else 1000,
            select=select,
        )
        for count, entity in enumerate(pager, start=1):
            yield entity
            if limit and count >= limit:
                return


class ImageTable(_Table):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.images_table)

    @storage_call
    def insert(self, record: ImageRecord) -> bool:
        """Create the entity; False (and no change) when it already exists."""
        try:
            _write(self._table(), image_to_entity(record), "insert")
            return True
        except ResourceExistsError:
            return False

    @storage_call
    def replace_existing(self, record: ImageRecord) -> None:
        """Replace an entity that must exist; raises NotFound when it was deleted."""
        _write(self._table(), image_to_entity(record), "replace")

    @storage_call
    def get(self, user_key: str, image_id: str) -> ImageRecord:
        """The image; raises NotFound."""
        return image_from_entity(self._table().get_entity(user_key, image_id))

    @storage_call
    def find(self, user_key: str, image_id: str) -> ImageRecord | None:
        try:
            return self.get(user_key, image_id)
        except NotFound:
            return None

    @storage_call
    def delete(self, user_key: str, image_id: str) -> None:
        self._table().delete_entity(user_key, image_id)

    @storage_call
    def range(self, user_key: str, start: str, end: str, limit: int | None) -> list[ImageRecord]:
        return [image_from_entity(e) for e in self._range(user_key, start, end, limit)]

    @storage_call
    def versions(self, user_key: str) -> list[tuple[str, str, str | None]]:
        """(image id, status, analysis version or None) of every image of the user,
        newest first; reads three properties only (what a re-tag of all needs)."""
        return [
            (e["RowKey"], e.get("Status", ""), e.get("AnalysisVersion") or None)
            for e in self._range(user_key, "", "~", None, ["RowKey", "Status", "AnalysisVersion"])
        ]

    @storage_call
    def queued_before(self, uploaded_before: str, limit: int) -> list[tuple[str, str]]:
        """(user key, image id) of at most ``limit`` records still ``queued`` whose
        ``UploadedAt`` (ISO 8601 UTC, as stored) is before ``uploaded_before``. The only
        query across users' partitions (the orphan sweeper's): a table scan server-side
        that returns keys only, paged until ``limit``."""
        pager = self._table().query_entities(
            "Status eq @status and UploadedAt lt @before",
            parameters={"status": ImageStatus.QUEUED.value, "before": uploaded_before},
            select=["PartitionKey", "RowKey"],
            results_per_page=min(limit, 1000),
        )
        found: list[tuple[str, str]] = []
        for entity in pager:
            found.append((entity["PartitionKey"], entity["RowKey"]))
            if len(found) >= limit:
                break
        return found

    @storage_call
    def ping(self) -> None:
        """Raise unless Table Storage answers: a one-row query matching nothing (a
        data-plane read the table data roles allow; creates nothing); a missing table
        is an answer."""
        with contextlib.suppress(ResourceNotFoundError):
            pages = self._client.query_entities("PartitionKey eq @pk", parameters={"pk": "~"}, results_per_page=1)
            next(iter(pages.by_page()), None)


class BatchTable(_Table):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.batches_table)

    @storage_call
    def upsert(self, record: BatchRecord) -> None:
        _write(
            self._table(),
            {
                "PartitionKey": record.user_key,
                "RowKey": record.id,
                "CreatedAt": record.created_at,
                "Accepted": record.accepted,
                "Rejected": record.rejected,
                "Metadata": _json(record.metadata),
            },
            "upsert",
        )

    @storage_call
    def get(self, user_key: str, batch_id: str) -> BatchRecord:
        entity = self._table().get_entity(user_key, batch_id)
        return BatchRecord(
            user_key=user_key,
            id=batch_id,
            created_at=entity.get("CreatedAt", ""),
            accepted=int(entity.get("Accepted", 0)),
            rejected=int(entity.get("Rejected", 0)),
            metadata=json.loads(entity.get("Metadata") or "{}"),
        )


def index_row_key(tag: str, image_id: str) -> str:
    return f"{tag}{TAG_SEPARATOR}{image_id}"


def index_summary(record: ImageRecord) -> dict[str, Any]:
    """What an index row keeps of a tagged image (its ``Summary``, as JSON), to answer
    searches without point reads."""
    return {
        "filename": record.filename,
        "batch_id": record.batch_id,
        "uploaded_at": record.uploaded_at,
        "tagged_at": record.tagged_at,
        "status": ImageStatus.TAGGED,
        "tags": [t.to_dict() for t in record.tags],
        "has_thumbnail": record.has_thumbnail,
        "analysis_version": record.analysis_version,
    }


def record_from_index_summary(user_key: str, image_id: str, summary: dict[str, Any]) -> ImageRecord:
    """The record :func:`index_summary` was made from, as far as a listing needs it: a
    *partial* record, with no ``facts``, ``error``, hashes, ``content_type`` ("") or
    ``size`` (0)."""
    return ImageRecord(
        user_key=user_key,
        id=image_id,
        batch_id=summary.get("batch_id", ""),
        filename=summary.get("filename", ""),
        content_type="",
        size=0,
        uploaded_at=summary.get("uploaded_at", ""),
        status=ImageStatus(summary.get("status", ImageStatus.TAGGED)),
        tags=[Tag.from_dict(t) for t in summary.get("tags", [])],
        tagged_at=summary.get("tagged_at"),
        has_thumbnail=bool(summary.get("has_thumbnail")),
        analysis_version=summary.get("analysis_version"),
    )


def _run(table: TableClient, operations: list[tuple[str, dict[str, Any]]]) -> None:
    """Upserts in transactions of at most 100 operations (one partition), deletes singly
    (deleting a row that does not exist fails a whole transaction)."""
    for start in range(0, len(operations), TRANSACTION_LIMIT):
        chunk = operations[start : start + TRANSACTION_LIMIT]
        upserts = [entity for op, entity in chunk if op == "upsert"]
        if upserts:
            _upsert_transaction(table, upserts)
        for op, entity in chunk:
            if op == "delete":
                _delete_quietly(table, entity["PartitionKey"], entity["RowKey"])


class TagIndexTable(_Table):
    """One row per (user, tag, image). ``Summary`` holds :func:`index_summary` (JSON)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.tag_index_table)

    @storage_call
    def replace_rows(self, record: ImageRecord, stale: Iterable[str]) -> None:
        """Upsert a row per tag of the tagged ``record`` and delete the rows of
        ``stale`` tag names, in transactions of at most 100 operations (one partition)."""
        user_key, image_id = record.user_key, record.id
        operations: list[tuple[str, dict[str, Any]]] = []
        summary_json = _json(index_summary(record))  # the same on every row: serialise once
        for tag in record.tags:
            operations.append(
                (
                    "upsert",
                    {
                        "PartitionKey": user_key,
                        "RowKey": index_row_key(tag.name, image_id),
                        "ImageId": image_id,
                        "Tag": tag.name,
                        "Confidence": float(tag.confidence),
                        "Source": tag.source,
                        "Summary": summary_json,
                    },
                )
            )
        for name in stale:
            operations.append(("delete", {"PartitionKey": user_key, "RowKey": index_row_key(name, image_id)}))
        _run(self._table(), operations)

    @storage_call
    def delete_rows(self, user_key: str, image_id: str, tag_names: Iterable[str]) -> None:
        table = self._table()
        for name in tag_names:
            _delete_quietly(table, user_key, index_row_key(name, image_id))

    @storage_call
    def search(self, user_key: str, tag: str, start_image_id: str | None, limit: int) -> list[ImageRecord]:
        """The images tagged ``tag``, newest first, from ``start_image_id``: partial
        records (see :func:`record_from_index_summary`)."""
        start = index_row_key(tag, start_image_id or "")
        end = tag + chr(ord(TAG_SEPARATOR) + 1)
        return [
            record_from_index_summary(user_key, row["ImageId"], json.loads(row.get("Summary") or "{}"))
            for row in self._range(user_key, start, end, limit, ["ImageId", "Summary"])
        ]

    @storage_call
    def tag_counts(self, user_key: str) -> dict[str, int]:
        """Count rows per tag over the user's partition (reads keys only)."""
        counts: dict[str, int] = {}
        pager = self._table().query_entities(
            "PartitionKey eq @pk", parameters={"pk": user_key}, select=["RowKey"], results_per_page=1000
        )
        for entity in pager:
            name = entity["RowKey"].rsplit(TAG_SEPARATOR, 1)[0]
            counts[name] = counts.get(name, 0) + 1
        return counts


TEXT_PARTITION_SUFFIX = "|text"  # not in the user key alphabet: never a user's own partition


def text_partition(user_key: str) -> str:
    return user_key + TEXT_PARTITION_SUFFIX


class TextHit(NamedTuple):
    """A text-index row: the image (partial, as a tag search gives it) and all the
    words read in it."""

    record: ImageRecord
    words: list[str]


class TextIndexTable(_Table):
    """One row per (user, word read in an image, image), in the tag index table's
    ``<user key>|text`` partition. ``Summary`` as in :class:`TagIndexTable`; ``Words``
    the image's searchable words (JSON list)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.tag_index_table)

    @storage_call
    def replace_rows(self, record: ImageRecord, words: list[str], stale: Iterable[str]) -> None:
        """Upsert a row per word of the tagged ``record`` (``words``: those read in it)
        and delete the rows of ``stale`` words."""
        image_id = record.id
        pk, summary_json, words_json = text_partition(record.user_key), _json(index_summary(record)), _json(words)
        operations: list[tuple[str, dict[str, Any]]] = [
            ("upsert", {"PartitionKey": pk, "RowKey": index_row_key(word, image_id), "ImageId": image_id,
                        "Word": word, "Words": words_json, "Summary": summary_json})
            for word in words
        ]  # fmt: skip
        operations += [("delete", {"PartitionKey": pk, "RowKey": index_row_key(w, image_id)}) for w in stale]
        _run(self._table(), operations)

    @storage_call
    def delete_rows(self, user_key: str, image_id: str, words: Iterable[str]) -> None:
        table, pk = self._table(), text_partition(user_key)
        for word in words:
            _delete_quietly(table, pk, index_row_key(word, image_id))

    @storage_call
    def search(self, user_key: str, word: str, start_image_id: str | None, limit: int) -> list[TextHit]:
        """The images ``word`` was read in, newest first, from ``start_image_id``."""
        start = index_row_key(word, start_image_id or "")
        end = word + chr(ord(TAG_SEPARATOR) + 1)
        return [
            TextHit(
                record_from_index_summary(user_key, row["ImageId"], json.loads(row.get("Summary") or "{}")),
                json.loads(row.get("Words") or "[]"),
            )
            for row in self._range(text_partition(user_key), start, end, limit, ["ImageId", "Summary", "Words"])
        ]

    @storage_call
    def row_keys(self, user_key: str) -> list[str]:
        """Every RowKey of the user's text index (tests and diagnostics; reads keys only)."""
        return [e["RowKey"] for e in self._range(text_partition(user_key), "", "~", None, ["RowKey"])]


RETAG_KIND = "retag"


def retag_item_key(retag_id: str, image_id: str) -> str:
    return f"{retag_id}{TAG_SEPARATOR}{image_id}"


class RetagTable(_Table):
    """Re-tag jobs and their per-image rows, in the batches table (see the module doc)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.batches_table)

    @storage_call
    def put_job(self, job: RetagJob, image_ids: list[str]) -> None:
        """Write the job row and a ``queued`` row per image (upserts: a retried request
        writes the same rows again)."""
        now = job.created_at
        rows = [
            {"PartitionKey": job.user_key, "RowKey": retag_item_key(job.id, image_id), "ImageId": image_id,
             "Status": RetagStatus.QUEUED, "Error": "", "UpdatedAt": now}
            for image_id in image_ids
        ]  # fmt: skip
        table = self._table()
        for start in range(0, len(rows), TRANSACTION_LIMIT):
            _upsert_transaction(table, rows[start : start + TRANSACTION_LIMIT])
        _write(
            table,
            {"PartitionKey": job.user_key, "RowKey": job.id, "Kind": RETAG_KIND, "CreatedAt": job.created_at,
             "Scope": job.scope, "AnalysisVersion": job.analysis_version, "Total": job.total},
            "upsert",
        )  # fmt: skip

    @storage_call
    def set_item(self, user_key: str, retag_id: str, item: RetagItem) -> None:
        _write(
            self._table(),
            {"PartitionKey": user_key, "RowKey": retag_item_key(retag_id, item.image_id), "ImageId": item.image_id,
             "Status": item.status, "Error": _json(item.error) if item.error else "",
             "UpdatedAt": item.updated_at or ""},
            "upsert",
        )  # fmt: skip

    @storage_call
    def get_job(self, user_key: str, retag_id: str) -> RetagJob:
        """The job; raises NotFound (also for a batch row under that key)."""
        entity = self._table().get_entity(user_key, retag_id)
        if entity.get("Kind") != RETAG_KIND:
            raise NotFound("not a re-tag job")
        return RetagJob(
            user_key=user_key,
            id=retag_id,
            created_at=entity.get("CreatedAt", ""),
            scope=RetagScope(entity.get("Scope", RetagScope.ALL)),
            analysis_version=entity.get("AnalysisVersion", ""),
            total=int(entity.get("Total", 0)),
        )

    @storage_call
    def items(self, user_key: str, retag_id: str) -> list[RetagItem]:
        """The job's images in id order (newest first)."""
        prefix = retag_id + TAG_SEPARATOR
        return [
            RetagItem(
                image_id=e["ImageId"],
                status=RetagStatus(e.get("Status", RetagStatus.QUEUED)),
                error=json.loads(e["Error"]) if e.get("Error") else None,
                updated_at=e.get("UpdatedAt") or None,
            )
            for e in self._range(user_key, prefix, retag_id + chr(ord(TAG_SEPARATOR) + 1), None,
                                 ["ImageId", "Status", "Error", "UpdatedAt"])
        ]  # fmt: skip


class FingerprintTable(_Table):
    """Duplicate look-up rows, per user: ``<band>|<image id>`` for each pHash band, with
    the image's full ``Phash`` and ``Sha256`` (so exact copies are found the same way:
    equal bytes have equal pHashes)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.fingerprints_table)

    @storage_call
    def register(self, user_key: str, image_id: str, sha256: str, phash: str, bands: list[str]) -> None:
        rows = [
            ("upsert", {"PartitionKey": user_key, "RowKey": f"{band}|{image_id}", "ImageId": image_id,
                        "Phash": phash, "Sha256": sha256})
            for band in bands
        ]  # fmt: skip
        _upsert_transaction(self._table(), [entity for _, entity in rows])

    @storage_call
    def unregister(self, user_key: str, image_id: str, bands: list[str]) -> None:
        table = self._table()
        for band in bands:
            _delete_quietly(table, user_key, f"{band}|{image_id}")

    @storage_call
    def matching(self, user_key: str, bands: list[str]) -> dict[str, tuple[str, str]]:
        """{image id: (pHash, SHA-256)} of the user's images sharing at least one band."""
        found: dict[str, tuple[str, str]] = {}
        table, select = self._table(), ["ImageId", "Phash", "Sha256"]
        for band in bands:
            prefix = f"{band}|"
            if _table_requests.lean(table):
                rows = _table_requests.range_query(table, user_key, prefix, band + "}", select)
            else:
                rows = self._range(user_key, prefix, band + "}", None, select)
            for entity in rows:
                found[entity["ImageId"]] = (entity["Phash"], entity["Sha256"])
        return found
