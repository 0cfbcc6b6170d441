"""Adapters: every use of the Azure Storage SDKs lives in this package.

Services get a :class:`Storage` and see only its methods and the errors in
:mod:`.errors` (NotFound, Conflict, StorageUnavailable), never SDK types.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from typing import TYPE_CHECKING, Any

from ..settings import Settings
from .errors import Conflict, NotFound, StorageError, StorageUnavailable

if TYPE_CHECKING:
    from .blobs import BlobStore
    from .idempotency import IdempotencyRecord, IdempotencyTable
    from .queues import TagQueue, decode_request, encode_request
    from .sweep_state import SweepStateTable
    from .tables import BatchTable, FingerprintTable, ImageTable, RetagTable, TagIndexTable, TextIndexTable

# The modules that import the Storage SDKs load on first use, not with the app (cold
# start: azure.storage.blob alone is ~0.3-0.9 s). Only the errors are eager.
_LAZY = {
    "BlobStore": ".blobs", "TagQueue": ".queues", "decode_request": ".queues", "encode_request": ".queues",
    "IdempotencyRecord": ".idempotency", "IdempotencyTable": ".idempotency", "BatchTable": ".tables",
    "FingerprintTable": ".tables", "ImageTable": ".tables", "TagIndexTable": ".tables",
    "TextIndexTable": ".tables", "RetagTable": ".tables", "SweepStateTable": ".sweep_state",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


@dataclass
class Storage:
    """The app's storage: blobs, the tag queue and six tables (the text index shares
    the tag index's table, re-tag jobs the batches' table)."""

    blobs: BlobStore
    queue: TagQueue
    images: ImageTable
    batches: BatchTable
    index: TagIndexTable
    fingerprints: FingerprintTable
    idempotency: IdempotencyTable
    words: TextIndexTable
    retags: RetagTable
    sweep_state: SweepStateTable

    @classmethod
    def from_settings(cls, settings: Settings) -> Storage:
        from .blobs import BlobStore
        from .idempotency import IdempotencyTable
        from .queues import TagQueue
        from .sweep_state import SweepStateTable
        from .tables import BatchTable, FingerprintTable, ImageTable, RetagTable, TagIndexTable, TextIndexTable

        return cls(
            blobs=BlobStore(settings),
            queue=TagQueue(settings),
            images=ImageTable(settings),
            batches=BatchTable(settings),
            index=TagIndexTable(settings),
            fingerprints=FingerprintTable(settings),
            idempotency=IdempotencyTable(settings),
            words=TextIndexTable(settings),
            retags=RetagTable(settings),
            sweep_state=SweepStateTable(settings),
        )

    def ping(self) -> dict[str, bool]:
        """Which services answer: {"blob": bool, "queue": bool, "table": bool}, probed
        in parallel so an outage costs one timeout, not three. The probes are
        data-plane reads of the app's own container, queue and table (allowed by the
        Storage Blob/Queue/Table Data roles an identity has); NotFound (not created
        yet) counts as an answer."""
        probes = {"blob": self.blobs.ping, "queue": self.queue.ping, "table": self.images.ping}

        def answers(probe: Callable[[], object]) -> bool:
            try:
                probe()
                return True
            except NotFound:
                return True
            except Exception:  # noqa: BLE001 - any other failure means "does not answer"
                return False

        with ThreadPoolExecutor(max_workers=len(probes)) as pool:
            return dict(zip(probes, pool.map(answers, probes.values()), strict=True))


@lru_cache(maxsize=4)
def get_storage(settings: Settings) -> Storage:
    """The process-wide Storage for ``settings``."""
    return Storage.from_settings(settings)


def reset_storage() -> None:
    """Forget cached storage objects and SDK clients (tests change settings and credentials)."""
    from .clients import get_clients

    get_storage.cache_clear()
    get_clients.cache_clear()


__all__ = [
    "Conflict",
    "IdempotencyRecord",
    "NotFound",
    "Storage",
    "StorageError",
    "StorageUnavailable",
    "decode_request",
    "encode_request",
    "get_storage",
    "reset_storage",
]
