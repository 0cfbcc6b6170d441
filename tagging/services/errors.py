"""Errors a service reports to its caller. Bindings map ``kind`` to an HTTP status."""
from __future__ import annotations

from ..core.vocabulary import ErrorCode, ErrorKind


class ServiceError(Exception):
    """A request the service refuses, with a stable ``code`` and a message that says
    what to do."""

    def __init__(self, kind: ErrorKind, code: ErrorCode, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message
        self.retry_after = retry_after  # seconds, sent as Retry-After (besides "unavailable"'s default)
