"""Blob Storage: originals and thumbnails, and read-only SAS URLs for them.

An original's metadata is the home of its record's upload fields (see
:func:`original_metadata`): enough to rebuild the ``queued`` record of an upload that
died before writing it.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import quote, unquote

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

from ..core import keys
from ..core.records import ImageRecord, now_iso
from ..settings import Settings
from . import _blob_requests
from ._ensure import ensure_once
from .clients import get_clients
from .errors import storage_call
from .sas import Clock, Signer, signer_for, utc_now


def original_name(user_key: str, image_id: str) -> str:
    """Blob name of an original in the images container."""
    return f"{user_key}/{image_id}"


def thumbnail_name(user_key: str, image_id: str) -> str:
    """Blob name of a thumbnail in the thumbnails container."""
    return f"{user_key}/{image_id}.jpg"


def original_metadata(record: ImageRecord) -> dict[str, str]:
    """The blob metadata of ``record``'s original: ``user_key``, ``batch_id``,
    ``filename`` (percent-encoded: metadata values must be ASCII) and ``uploaded_at``."""
    return {
        "user_key": record.user_key,
        "batch_id": record.batch_id,
        "filename": quote(record.filename, safe=""),
        "uploaded_at": record.uploaded_at,
    }


def record_from_original(user_key: str, image_id: str, size: int, metadata: dict[str, str]) -> ImageRecord:
    """The ``queued`` record :func:`original_metadata` was written from (``size`` in
    bytes; ``metadata`` also holds ``content_type``). Missing keys fall back to what the
    image id says: its batch, the id as filename, now as upload time."""
    return ImageRecord(
        user_key=user_key,
        id=image_id,
        batch_id=metadata.get("batch_id") or keys.batch_of(image_id),
        filename=unquote(metadata.get("filename", "")) or image_id,
        content_type=metadata.get("content_type", "application/octet-stream"),
        size=size,
        uploaded_at=metadata.get("uploaded_at", now_iso()),
    )


class Original(NamedTuple):
    """An original's bytes and the ``queued`` record its metadata describes."""

    data: bytes
    record: ImageRecord


@dataclass(frozen=True)
class StoredOriginal:
    """One blob of the images container as listed: its name, creation time (aware UTC)
    and metadata (the upload writes ``user_key``, ``batch_id``, ``filename``, ``uploaded_at``)."""

    name: str
    created: datetime
    metadata: dict[str, str]


class BlobStore:
    """Originals live in ``images_container``, thumbnails in ``thumbnails_container``;
    both containers are private and read through short-lived SAS URLs (see
    :mod:`.sas`: service SAS with an account key, user-delegation SAS with an identity,
    none with a SAS-token connection string). ``clock`` is for tests."""

    def __init__(self, settings: Settings, clock: Clock = utc_now) -> None:
        self._settings = settings
        self._service = get_clients(settings).blob
        self.signer: Signer = signer_for(self._service, settings.sas_ttl_seconds, clock)
        # Built once: every upload, download and SAS URL goes through these two.
        self._containers: dict[str, ContainerClient] = {
            name: self._service.get_container_client(name)
            for name in (settings.images_container, settings.thumbnails_container)
        }

    def _container(self, name: str) -> ContainerClient:
        client = self._containers[name]
        ensure_once(f"blob:{client.url}", client.create_container)
        return client

    @storage_call
    def put_original(self, record: ImageRecord, data: bytes) -> None:
        """Write (or overwrite, idempotently) ``record``'s original, with the record's
        upload fields as metadata (:func:`original_metadata`)."""
        user_key, image_id, content_type = record.user_key, record.id, record.content_type
        metadata = original_metadata(record)
        container = self._container(self._settings.images_container)
        if _blob_requests.lean(container):
            _blob_requests.put(container, original_name(user_key, image_id), data, content_type, metadata)
            return
        container.upload_blob(
            original_name(user_key, image_id),
            data,
            overwrite=True,
            content_settings=ContentSettings(content_type=content_type),
            metadata=metadata,
        )

    @storage_call
    def get_original(self, user_key: str, image_id: str) -> Original:
        """An original's bytes and the record its metadata describes. Raises NotFound."""
        container = self._container(self._settings.images_container)
        if _blob_requests.lean(container):
            data, metadata = _blob_requests.get(container, original_name(user_key, image_id))
        else:
            downloader = container.download_blob(original_name(user_key, image_id), max_concurrency=1)
            data = downloader.readall()
            metadata = dict(downloader.properties.metadata or {})
            metadata["content_type"] = downloader.properties.content_settings.content_type or ""
        return Original(data, record_from_original(user_key, image_id, len(data), metadata))

    @storage_call
    def original_exists(self, user_key: str, image_id: str) -> bool:
        """Whether the original is stored (one HEAD request, no body)."""
        blob = self._container(self._settings.images_container).get_blob_client(original_name(user_key, image_id))
        return bool(blob.exists())

    @storage_call
    def put_thumbnail(self, user_key: str, image_id: str, jpeg: bytes) -> None:
        container = self._container(self._settings.thumbnails_container)
        if _blob_requests.lean(container):
            _blob_requests.put(container, thumbnail_name(user_key, image_id), jpeg, "image/jpeg",
                               cache_control="private, max-age=3600")  # fmt: skip
            return
        container.upload_blob(
            thumbnail_name(user_key, image_id),
            jpeg,
            overwrite=True,
            content_settings=ContentSettings(content_type="image/jpeg", cache_control="private, max-age=3600"),
        )

    @storage_call
    def delete_image_blobs(self, user_key: str, image_id: str) -> None:
        """Delete original and thumbnail; a blob already gone is not an error."""
        for container, name in (
            (self._settings.images_container, original_name(user_key, image_id)),
            (self._settings.thumbnails_container, thumbnail_name(user_key, image_id)),
        ):
            with contextlib.suppress(ResourceNotFoundError):
                self._container(container).delete_blob(name, delete_snapshots="include")

    @storage_call
    def list_originals(
        self, created_before: datetime, page_size: int, continuation: str | None = None
    ) -> tuple[list[StoredOriginal], str | None]:
        """One listing page of the images container (``page_size`` blobs in name order,
        from ``continuation``): the ones created before ``created_before``, and the token
        of the next page (None after the last). Cost: one List Blobs request."""
        # Typed as a plain iterator; it is the SDK's page iterator, which holds the token.
        pages: Any = self._container(self._settings.images_container).list_blobs(
            include=["metadata"], results_per_page=page_size
        ).by_page(continuation_token=continuation)
        page = next(pages, None)
        if page is None:
            return [], None
        found = [
            StoredOriginal(blob.name, blob.creation_time, dict(blob.metadata or {}))
            for blob in page
            if blob.creation_time is not None and blob.creation_time < created_before
        ]
        return found, pages.continuation_token or None

    @storage_call
    def delete_original_named(self, name: str) -> None:
        """Delete the images container's blob ``name`` (any name, e.g. one that is not
        ``<user key>/<image id>``); one already gone is not an error."""
        with contextlib.suppress(ResourceNotFoundError):
            self._container(self._settings.images_container).delete_blob(name, delete_snapshots="include")

    def original_url(self, user_key: str, image_id: str, filename: str | None = None) -> str | None:
        """A read-only URL of the original, valid ``sas_ttl_seconds`` (shown inline as
        ``filename``), or None when this connection cannot sign. Raises
        StorageUnavailable when a user delegation key cannot be fetched."""
        return self._sas_url(self._settings.images_container, original_name(user_key, image_id), filename)

    def thumbnail_url(self, user_key: str, image_id: str) -> str | None:
        """As :meth:`original_url`, for the thumbnail."""
        return self._sas_url(self._settings.thumbnails_container, thumbnail_name(user_key, image_id), None)

    def _sas_url(self, container: str, blob: str, filename: str | None) -> str | None:
        """A read-only URL for exactly this blob (no request to storage but, with an
        identity, one delegation-key fetch about once a day)."""
        disposition = f"inline; filename*=UTF-8''{quote(filename, safe='')}" if filename else None
        token = self.signer.sign(container, blob, disposition)
        if token is None:
            return None
        return f"{self._containers[container].url}/{quote(blob)}?{token}"

    @storage_call
    def ping(self) -> None:
        """Raise unless Blob Storage answers. A data-plane read the blob data roles
        allow (the images container's properties); a missing container is an answer."""
        with contextlib.suppress(ResourceNotFoundError):
            self._containers[self._settings.images_container].get_container_properties()
