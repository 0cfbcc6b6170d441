"""Run a function as the Python worker does, and log one line per invocation.

``async def`` functions run on the event loop; others in a thread pool of
``PYTHON_THREADPOOL_THREAD_COUNT`` threads (default: Python's, min(32, CPUs + 4)).
A function that takes a ``context`` parameter gets a :class:`func.Context`.
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import azure.functions as func

from .indexing import IndexedFunction

log = logging.getLogger(__package__)
THREADPOOL_SETTING = "PYTHON_THREADPOOL_THREAD_COUNT"
_thread_local = threading.local()


def thread_count(env: dict[str, str] | None = None) -> int:
    """Thread pool size from ``PYTHON_THREADPOOL_THREAD_COUNT`` (1-32)."""
    raw = (env if env is not None else os.environ).get(THREADPOOL_SETTING, "").strip()
    if not raw:
        return min(32, (os.cpu_count() or 1) + 4)
    if not raw.isdigit() or not 1 <= int(raw) <= 32:
        raise ValueError(f"{THREADPOOL_SETTING}={raw!r}: use a whole number from 1 to 32")
    return int(raw)


class _TraceContext:
    """``context.trace_context``: the properties the library's TraceContext defines (it is
    not public API, so this does not subclass it; the Python worker's own is plain too)."""

    def __init__(self) -> None:
        self._parent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext:
    """``context.retry_context``: no retry policy, so never a retry."""

    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> Any:
        return None


class RunnerContext(func.Context):
    """The ``context`` argument: invocation id, function name and directory."""

    def __init__(self, invocation_id: str, function_name: str, function_directory: str) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = function_directory
        self._trace = _TraceContext()
        self._retry = _RetryContext()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return _thread_local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> _TraceContext:  # type: ignore[override]  # duck-typed: the ABC is private
        return self._trace

    @property
    def retry_context(self) -> _RetryContext:  # type: ignore[override]  # duck-typed: the ABC is private
        return self._retry


class Invoker:
    """Calls user functions and keeps count of the ones running."""

    def __init__(self, executor: ThreadPoolExecutor, app_dir: Path) -> None:
        self._executor = executor
        self._app_dir = str(app_dir)
        self._running: dict[str, str] = {}  # invocation id -> function name

    @property
    def running(self) -> dict[str, str]:
        return dict(self._running)

    async def call(self, function: IndexedFunction, argument: Any, invocation_id: str) -> Any:
        """Run ``function`` with its trigger ``argument``; returns what it returns
        and raises what it raises."""
        kwargs: dict[str, Any] = {function.arg_name: argument}
        if function.wants_context:
            kwargs["context"] = RunnerContext(invocation_id, function.name, self._app_dir)
        self._running[invocation_id] = function.name
        try:
            if function.is_async:
                return await function.handler(**kwargs)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, _run_in_thread, invocation_id, function.handler, kwargs)
        finally:
            self._running.pop(invocation_id, None)


def _run_in_thread(invocation_id: str, handler: Any, kwargs: dict[str, Any]) -> Any:
    _thread_local.invocation_id = invocation_id
    try:
        return handler(**kwargs)
    finally:
        _thread_local.invocation_id = None


def new_invocation_id() -> str:
    return str(uuid.uuid4())


def log_invocation(
    function: str, invocation_id: str, trigger: str, started: float, outcome: str, **fields: Any
) -> None:
    """The one line per invocation: ids, duration (ms), outcome and counters only,
    never URLs, headers or bodies (they can carry keys and SAS tokens)."""
    duration_ms = (time.perf_counter() - started) * 1000
    extra = "".join(f" {key}={value}" for key, value in fields.items() if value is not None)
    level = logging.INFO if outcome == "succeeded" else logging.WARNING
    log.log(
        level,
        f"executed function={function} invocation_id={invocation_id} trigger={trigger} "
        f"duration_ms={duration_ms:.1f} outcome={outcome}{extra}",
    )
