"""Console logging for the runner, with the level from host.json ``logging.logLevel``.

As in the Python worker, the root logger takes every Python record (INFO by default)
and nothing else filters them by logger name: ``Function`` (the host's category for
what the worker forwards) sets the root level. ``Azure.Core`` is *not* applied to
Python's ``azure`` loggers: it is the .NET SDK's category and does not filter what the
Python SDK logs, so the app keeps its SDK loggers quiet itself (tagging.logs). The
runner's own lines (one per invocation, start and stop) are always at INFO. aiohttp's
access log is off: the invocation line replaces it and never shows query strings.
"""
from __future__ import annotations

import logging
import sys

_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "information": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "none": logging.CRITICAL + 10,
}


def level(name: str | None, default: int) -> int:
    return _LEVELS.get((name or "").strip().lower(), default)


def configure(log_levels: dict[str, str], worker: int | None = None) -> None:
    """Log to stderr; ``worker`` (with ``--workers N``) tags each line."""
    levels = {k.lower(): v for k, v in log_levels.items()}
    tag = f" [w{worker}]" if worker is not None else ""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s{tag} %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level(levels.get("function"), logging.INFO))
    logging.getLogger("aiohttp.access").disabled = True
    logging.getLogger(__package__).setLevel(logging.INFO)
    logging.getLogger(f"{__package__}.storage").setLevel(logging.WARNING)  # the runner's own queue traffic
