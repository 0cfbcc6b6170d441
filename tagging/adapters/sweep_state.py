"""Table Storage: the orphan sweeper's position in its listing of originals.

One entity per images container, in a table of its own (``TAGGING_SWEEP_STATE_TABLE``,
default ``SweepState``; every other table is partitioned by user key, and two of them are
scanned across partitions): PartitionKey ``originals``, RowKey = the container's name.
Properties: ``Continuation`` (the List Blobs continuation token where the next run
starts; ``""``: the first blob) and ``UpdatedAt`` (ISO 8601 UTC). The row is created
insert-only and then replaced only at the ETag the run read, so of two overlapping runs
that started from the same position only the first to finish moves it. Deleting the row
starts the next run from the first blob. The table format lives here only: services see
:class:`SweepCursor`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from ..core.records import to_iso
from ..settings import Settings
from .errors import storage_call
from .tables import _Table

ORIGINALS_PARTITION = "originals"


@dataclass(frozen=True)
class SweepCursor:
    """Where a run's listing starts, as read. ``continuation`` None: the first blob;
    ``etag`` None: there is no row yet."""

    continuation: str | None = None
    etag: str | None = None


def cursor_to_entity(container: str, continuation: str | None, now: datetime) -> dict[str, Any]:
    return {
        "PartitionKey": ORIGINALS_PARTITION,
        "RowKey": container,
        "Continuation": continuation or "",
        "UpdatedAt": to_iso(now),
    }


def cursor_from_entity(entity: dict[str, Any], etag: str | None) -> SweepCursor:
    return SweepCursor(entity.get("Continuation") or None, etag)


class SweepStateTable(_Table):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.sweep_state_table)
        self._container = settings.images_container

    @storage_call
    def read(self) -> SweepCursor:
        """The stored position of the images container's listing (the start when none)."""
        try:
            entity = self._table().get_entity(ORIGINALS_PARTITION, self._container)
        except ResourceNotFoundError:
            return SweepCursor()
        return cursor_from_entity(entity, entity.metadata.get("etag"))

    @storage_call
    def advance(self, read: SweepCursor, continuation: str | None, now: datetime) -> bool:
        """Store ``continuation`` (None: the listing ended; the next run starts at the
        first blob) if the row is still as ``read`` found it. False, and no change, when
        another run moved (or someone deleted) it meanwhile."""
        entity = cursor_to_entity(self._container, continuation, now)
        table = self._table()
        try:
            if read.etag is None:
                table.create_entity(entity)
            else:
                table.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=read.etag, match_condition=MatchConditions.IfNotModified
                )
        except (ResourceExistsError, ResourceNotFoundError):
            return False
        except HttpResponseError as error:
            if error.status_code == 412:  # the ETag no longer matches
                return False
            raise
        return True
