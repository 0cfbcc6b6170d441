"""A per-process memory budget for concurrent decodes.

The host hands one instance up to ``batchSize + newBatchThreshold`` tag requests at
once (24 with this app's host.json) and the worker runs them on threads, so several
images decode at the same time. A JPEG decodes small (draft mode), but a PNG, TIFF,
WebP, GIF, BMP, HEIC or AVIF decodes its full raster first: about 400 MB for a 100 MP
RGB image. Each decode reserves its raster's bytes (known from the header) before any
pixel is decoded and waits while the reservations in flight would exceed the budget;
an image larger than the whole budget waits until it can run alone.

The budget comes from the instance's memory (``TAGGING_INSTANCE_MEMORY_MB``, set from
the Flex plan's ``instanceMemoryMB`` in infra/app/api.bicep): what is left after
:data:`RESERVED_MB` for the runtime, the classifier, SDK clients and request bodies,
halved for the allocator's slack and the smaller copies made after the decode.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

MB = 1024 * 1024
DEFAULT_INSTANCE_MEMORY_MB = 2048  # Flex Consumption's default instance size
RESERVED_MB = 512  # Python, the Functions worker, onnxruntime + model, SDKs, bodies
MIN_BUDGET_MB = 128


def budget_bytes(instance_memory_mb: int) -> int:
    """Decode budget of one process on an instance with ``instance_memory_mb``:
    (memory - 512 MB) / 2, at least 128 MB (2048 MB -> 768 MB, 4096 MB -> 1792 MB)."""
    return max(MIN_BUDGET_MB, (instance_memory_mb - RESERVED_MB) // 2) * MB


class DecodeBudget:
    """Bytes of decoded pixels that may exist at once in this process (thread-safe)."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit = int(limit_bytes)
        self._used = 0
        self._peak = 0
        self._changed = threading.Condition()

    @property
    def in_use(self) -> int:
        return self._used

    @property
    def peak(self) -> int:
        """Most bytes reserved at once so far (for tests and tuning)."""
        return self._peak

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Hold ``nbytes`` of the budget for the block; wait until they fit. A request
        larger than the budget counts as the whole budget (it runs alone)."""
        nbytes = max(0, min(int(nbytes), self.limit))
        with self._changed:
            while self._used and self._used + nbytes > self.limit:
                self._changed.wait()
            self._used += nbytes
            self._peak = max(self._peak, self._used)
        try:
            yield
        finally:
            with self._changed:
                self._used -= nbytes
                self._changed.notify_all()


_lock = threading.Lock()
_budget = DecodeBudget(budget_bytes(DEFAULT_INSTANCE_MEMORY_MB))


def configure(instance_memory_mb: int) -> DecodeBudget:
    """Size the process's budget for ``instance_memory_mb`` (a no-op when unchanged:
    decodes in flight keep their reservations in the budget they came from)."""
    global _budget
    with _lock:
        if _budget.limit != budget_bytes(instance_memory_mb):
            _budget = DecodeBudget(budget_bytes(instance_memory_mb))
        return _budget


def current() -> DecodeBudget:
    """The process's decode budget."""
    return _budget
