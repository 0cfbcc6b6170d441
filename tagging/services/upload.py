"""Upload: validate files, store each, record it and ask for it to be tagged.

Write order per image: original blob (its metadata can rebuild the record) -> queue
message -> ``queued`` entity (insert, never overwrite). Once the message is sent the
image is accepted: the tagger creates the entity from blob metadata if the process
died before writing it, and an insert that loses the race to the tagger changes nothing.
A crash before the message leaves at most an unreferenced blob, never a stuck image.

With an ``Idempotency-Key`` (see :mod:`.idempotency`) the key is claimed after the
request is validated and before anything is written; the claim reserves the batch id
and upload time, so a retry that takes over a dead attempt writes the same keys.
"""
from __future__ import annotations

import json
import logging
import posixpath
import re
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

from ..adapters import Storage, StorageError
from ..core import keys
from ..core.analysis import UndecodableImage, sniff_format
from ..core.records import BatchRecord, ImageRecord, TagRequest, now_iso
from ..core.vocabulary import ErrorCode, ErrorDetail, ErrorKind, IdempotentOperation, ImageStatus, error_detail
from ..logs import event
from ..settings import Settings
from .answers import Rejection, UploadAnswer, UploadedImage
from .errors import ServiceError
from .idempotency import Claim, Idempotency, check_key, fingerprint

log = logging.getLogger(__name__)

MAX_FILENAME_LENGTH = 255
WRITE_CONCURRENCY = 8  # parallel per-image writes within one request


@dataclass
class IncomingFile:
    """One file of a request, as the binding received it."""

    filename: str | None
    data: bytes
    declared_type: str | None = None


@dataclass
class UploadResult:
    batch_id: str
    images: list[UploadedImage] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    replayed: bool = False  # the stored answer of an earlier request with the same Idempotency-Key

    def answer(self) -> UploadAnswer:
        """The JSON-able answer (what an Idempotency-Key remembers)."""
        return {"batch_id": self.batch_id, "images": self.images, "rejected": self.rejected}

    @classmethod
    def from_answer(cls, answer: UploadAnswer, replayed: bool = False) -> UploadResult:
        return cls(answer["batch_id"], list(answer["images"]), list(answer["rejected"]), replayed)


def clean_filename(raw: str | None, fallback: str) -> str:
    """A display name: last path component, no control characters, <= 255 chars."""
    name = (raw or "").replace("\\", "/")
    name = posixpath.basename(name)
    name = re.sub(r"[ \t\n\r\f\v]+", " ", unicodedata.normalize("NFC", name))
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().lstrip(".")
    return (name or fallback)[:MAX_FILENAME_LENGTH]


def parse_metadata(raw: str | None, max_bytes: int) -> dict[str, Any]:
    """The batch ``metadata`` field: a JSON object of at most ``max_bytes`` UTF-8 bytes."""
    if raw is None or raw.strip() == "":
        return {}
    if len(raw.encode("utf-8", "surrogatepass")) > max_bytes:
        raise ServiceError(
            ErrorKind.INVALID, ErrorCode.INVALID_METADATA, f"metadata must be at most {max_bytes} bytes of JSON"
        )
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise ServiceError(
            ErrorKind.INVALID, ErrorCode.INVALID_METADATA, "metadata must be a JSON object, e.g. {\"album\": \"trip\"}"
        ) from None
    if not isinstance(value, dict):
        raise ServiceError(
            ErrorKind.INVALID, ErrorCode.INVALID_METADATA, "metadata must be a JSON object, not a list or a scalar"
        )
    return value


def _reject(filename: str, error: ErrorDetail) -> Rejection:
    return {"filename": filename, "error": error}


class UploadService:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self._settings = settings
        self._storage = storage
        self._idempotency = Idempotency(storage.idempotency, IdempotentOperation.UPLOAD, keys.new_batch_id)

    def upload(
        self, user_key: str, files: list[IncomingFile], metadata_text: str | None, idempotency_key: str | None = None
    ) -> UploadResult:
        """Accept what can be tagged, reject the rest per file.

        Raises ServiceError when the request as a whole is refused (bad metadata, no
        files, too many files, nothing acceptable, a bad or conflicting
        ``idempotency_key``) — then nothing is stored. With ``idempotency_key``, a
        repeat of an answered request returns that answer (``replayed``) and writes
        nothing.
        """
        started = time.perf_counter()
        key = check_key(idempotency_key, IdempotentOperation.UPLOAD)
        metadata = parse_metadata(metadata_text, self._settings.max_metadata_bytes)
        if not files:
            raise ServiceError(
                ErrorKind.INVALID,
                ErrorCode.NO_FILES,
                "send at least one image: a multipart file part or an image/* body",
            )
        if len(files) > self._settings.max_files:
            raise ServiceError(
                ErrorKind.TOO_LARGE,
                ErrorCode.TOO_MANY_FILES,
                f"at most {self._settings.max_files} files per request; split the upload",
            )
        accepted: list[tuple[str, IncomingFile, str]] = []
        rejected: list[Rejection] = []
        for position, incoming in enumerate(files):
            name = clean_filename(incoming.filename, f"image-{position + 1}")
            verdict = self._check(incoming.data)
            if isinstance(verdict, dict):
                rejected.append(_reject(name, verdict))
            else:
                accepted.append((name, incoming, verdict))
        if not accepted:
            raise self._nothing_accepted(rejected)

        if key is None:
            return self._write(user_key, accepted, rejected, metadata, keys.new_batch_id(), now_iso(), started)
        claim: Claim = self._idempotency.begin(user_key, key, fingerprint(files, metadata_text))
        if claim.replay is not None:
            event(log, "upload", batch_id=claim.record.batch_id, outcome="replayed",
                  duration_ms=round((time.perf_counter() - started) * 1000, 1))  # fmt: skip
            return UploadResult.from_answer(cast(UploadAnswer, claim.replay), replayed=True)
        try:
            result = self._write(
                user_key, accepted, rejected, metadata, claim.record.batch_id, claim.record.uploaded_at, started
            )
        except BaseException:
            self._idempotency.abandon(claim)
            raise
        return UploadResult.from_answer(self._idempotency.finish(claim, result.answer()))

    def _write(
        self, user_key: str, accepted: list[tuple[str, IncomingFile, str]], rejected: list[Rejection],
        metadata: dict[str, Any], batch_id: str, uploaded_at: str, started: float,
    ) -> UploadResult:  # fmt: skip
        """Store the accepted files as batch ``batch_id`` (deterministic keys: writing
        the same batch twice converges on one)."""
        self._storage.batches.upsert(
            BatchRecord(
                user_key, batch_id, uploaded_at, accepted=len(accepted), rejected=len(rejected), metadata=metadata
            )
        )
        records = [
            ImageRecord(
                user_key=user_key,
                id=keys.image_id(batch_id, index),
                batch_id=batch_id,
                filename=name,
                content_type=mime,
                size=len(incoming.data),
                uploaded_at=uploaded_at,
                status=ImageStatus.QUEUED,
            )
            for index, (name, incoming, mime) in enumerate(accepted)
        ]
        payloads = [incoming.data for _, incoming, _ in accepted]
        if len(records) == 1:  # the common case (the page and the CLI send one file a request)
            outcomes = [self._store(records[0], payloads[0])]
        else:
            with ThreadPoolExecutor(max_workers=min(WRITE_CONCURRENCY, len(records))) as pool:
                outcomes = list(pool.map(self._store, records, payloads))
        result = UploadResult(batch_id=batch_id, rejected=rejected)
        for record, error in zip(records, outcomes, strict=True):
            if error is None:
                result.images.append({"id": record.id, "filename": record.filename, "status": ImageStatus.QUEUED})
            else:
                result.rejected.append(
                    _reject(
                        record.filename,
                        error_detail(ErrorCode.STORAGE_UNAVAILABLE, "storage is unavailable; retry this file"),
                    )
                )
        if not result.images:
            raise ServiceError(
                ErrorKind.UNAVAILABLE, ErrorCode.STORAGE_UNAVAILABLE, "storage is unavailable; retry the upload shortly"
            )
        event(
            log,
            "upload",
            batch_id=batch_id,
            accepted=len(result.images),
            rejected=len(result.rejected),
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            outcome="accepted",
        )
        return result

    def _check(self, data: bytes) -> str | ErrorDetail:
        """The MIME type of an acceptable file, or why it is rejected."""
        if not data:
            return error_detail(ErrorCode.EMPTY_FILE, "the file is empty")
        if len(data) > self._settings.max_file_bytes:
            return error_detail(ErrorCode.FILE_TOO_LARGE, f"files may be at most {self._settings.max_file_bytes} bytes")
        try:
            _, mime, _, _ = sniff_format(data, self._settings.max_image_pixels)
        except UndecodableImage as error:
            return error_detail(error.code, error.message)
        return mime

    @staticmethod
    def _nothing_accepted(rejected: list[Rejection]) -> ServiceError:
        codes = {r["error"]["code"] for r in rejected}
        first = rejected[0]["error"]
        if len(rejected) == 1:
            message = first["message"]
        else:
            message = f"none of the {len(rejected)} files is an acceptable image"
        if codes <= {ErrorCode.FILE_TOO_LARGE, ErrorCode.IMAGE_TOO_LARGE}:
            return ServiceError(
                ErrorKind.TOO_LARGE, ErrorCode(first["code"]) if len(codes) == 1 else ErrorCode.FILE_TOO_LARGE, message
            )
        if codes == {ErrorCode.UNSUPPORTED_FORMAT}:
            return ServiceError(ErrorKind.UNSUPPORTED, ErrorCode.UNSUPPORTED_FORMAT, message)
        return ServiceError(
            ErrorKind.INVALID, ErrorCode(first["code"]) if len(codes) == 1 else ErrorCode.NO_ACCEPTABLE_FILES, message
        )

    def _store(self, record: ImageRecord, data: bytes) -> Exception | None:
        """Write one image; None on success, the storage error otherwise."""
        try:
            self._storage.blobs.put_original(record, data)
            self._storage.queue.send(TagRequest(record.user_key, record.id))
        except StorageError as error:
            event(
                log,
                "upload_write_failed",
                logging.WARNING,
                image_id=record.id,
                outcome="storage_error",
                error=type(error).__name__,
            )
            return error
        try:
            self._storage.images.insert(record)
        except StorageError as error:
            # The message is out: the tagger rebuilds the record from blob metadata.
            event(log, "queued_entity_not_written", logging.WARNING, image_id=record.id, error=type(error).__name__)
        return None
