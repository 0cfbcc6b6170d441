"""Polling for a condition the code under test reaches asynchronously (a runner
serving, a message processed, a process gone)."""
from __future__ import annotations

import time
from typing import Any
from collections.abc import Callable


def wait_until(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """``check()``'s first truthy value, polled every ``interval`` seconds; AssertionError
    after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
