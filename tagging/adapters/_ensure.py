"""Create containers, queues and tables on first use, once per process."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from azure.core.exceptions import ResourceExistsError

_done: set[str] = set()
_lock = threading.Lock()


def ensure_once(key: str, create: Callable[[], object]) -> None:
    """Run ``create`` the first time ``key`` is seen in this process; "already
    exists" counts as success. A failure is not remembered, so the next call retries."""
    if key in _done:
        return
    with _lock:
        if key in _done:
            return
        with contextlib.suppress(ResourceExistsError):
            create()
        _done.add(key)
