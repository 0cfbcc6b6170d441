"""Run one image's analysers side by side on a small per-process thread pool.

An idle instance tags one image at a time, and its analysers (the classifier, faces,
safety and text networks) are independent of each other: onnxruntime releases the GIL
while a session runs (each session keeps one intra-op thread), so on a machine with
spare CPUs they can overlap. The calling thread takes part: it submits every analyser
but the first to the pool, runs the first itself, then runs every analyser no pool
thread has started yet (a still-pending future is cancelled and run in place). A busy
instance, whose pool threads are taken by other images, therefore runs an image's
analysers on its own thread as before; nothing waits for a free pool thread.

The pool has one thread fewer than the CPUs this process may use (the caller is the
other one), counted as .NET's ``Environment.ProcessorCount`` counts them for the
Functions host: the CPU affinity, capped by a cgroup CPU quota rounded up. A 2048 MB
Flex Consumption instance (1 core) gets no pool thread and runs analysers one after
the other; a 4096 MB one (2 cores) gets one.
"""
from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

THREAD_NAME_PREFIX = "analysers"
# cgroup v2 (one file, "<quota> <period>" or "max <period>") and v1 (two files), as a
# container sees its own limit at the root of its cgroup namespace.
_CGROUP_V2_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
_CGROUP_V1_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
_CGROUP_V1_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def cgroup_cpu_limit(
    v2: Path = _CGROUP_V2_CPU_MAX, v1_quota: Path = _CGROUP_V1_QUOTA, v1_period: Path = _CGROUP_V1_PERIOD
) -> float | None:
    """The CPU quota of this process's cgroup in CPUs (e.g. 1.0, 0.25), or None when
    there is none (unlimited, not Linux, or unreadable)."""
    try:
        quota, period = v2.read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota, period = v1_quota.read_text().strip(), v1_period.read_text().strip()
        except OSError:
            return None
    try:
        limit = int(quota) / int(period)
    except (ValueError, ZeroDivisionError):  # "max": no quota
        return None
    return limit if limit > 0 else None  # v1 writes -1 for no quota


def usable_cpus(affinity: int | None = None, limit: float | None = None) -> int:
    """CPUs this process may use: its CPU affinity (``os.cpu_count()`` where there is
    none), capped by :func:`cgroup_cpu_limit` rounded up; at least 1. ``affinity`` and
    ``limit`` default to this process's (tests pass their own)."""
    if affinity is None:
        try:
            affinity = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            affinity = os.cpu_count() or 1
    if limit is None:
        limit = cgroup_cpu_limit()
    cpus = affinity if limit is None else min(affinity, math.ceil(limit))
    return max(1, cpus)


class AnalyserPool:
    """Maps a function over a few items on ``helpers`` pool threads plus the calling
    thread; ``helpers=0`` runs everything on the caller. Thread-safe: any number of
    threads may call :meth:`map` at once (they share the helpers)."""

    def __init__(self, helpers: int) -> None:
        self.helpers = max(0, int(helpers))
        self._executor = (
            ThreadPoolExecutor(self.helpers, thread_name_prefix=THREAD_NAME_PREFIX) if self.helpers else None
        )

    def map(self, function: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[function(item) for item in items]``, with the same result and the same
        exception: the first item (in order) that raises re-raises its exception, once
        every started call has finished (none is left running on shared input); items
        after a failed one are not started if they have not been already."""
        if self._executor is None or len(items) < 2:
            return [function(item) for item in items]
        futures: list[Future[R]] = [self._executor.submit(function, item) for item in items[1:]]
        results: list[R | None] = [None] * len(items)
        errors: dict[int, BaseException] = {}
        pending: list[tuple[int, Future[R]]] = []
        for index, item in enumerate(items):
            future = futures[index - 1] if index else None
            if errors and index > min(errors):
                if future is not None and not future.cancel():
                    pending.append((index, future))  # already running: let it finish
                continue
            if future is None or future.cancel():  # the first, or not started by a helper: run it here
                try:
                    results[index] = function(item)
                except Exception as error:  # noqa: BLE001 - re-raised below, in order
                    errors[index] = error
            else:
                pending.append((index, future))
        for index, future in pending:
            raised = future.exception()  # waits
            if raised is not None:
                errors[index] = raised
            else:
                results[index] = future.result()
        if errors:
            raise errors[min(errors)]
        return results  # type: ignore[return-value]  # every slot is filled when nothing failed

    def shutdown(self) -> None:
        """Stop the pool threads (tests; the shared pool lives as long as the process)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)


_lock = threading.Lock()
_shared: AnalyserPool | None = None


def shared_pool() -> AnalyserPool:
    """The process's pool, made on first use: :func:`usable_cpus` - 1 helper threads."""
    global _shared
    if _shared is None:
        with _lock:
            if _shared is None:
                _shared = AnalyserPool(usable_cpus() - 1)
    return _shared
