"""HTTP helpers shared by the blueprints: JSON responses, errors, the caller."""
from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import azure.functions as func

from ..adapters import StorageUnavailable
from ..core.vocabulary import ErrorCode, ErrorKind, error_detail
from ..logs import event
from ..services.errors import ServiceError
from ..services.identity import PRINCIPAL_HEADER, resolve_user
from ..settings import SettingsError
from . import _services

log = logging.getLogger(__name__)

STATUS = {
    ErrorKind.INVALID: 400, ErrorKind.UNAUTHORIZED: 401, ErrorKind.NOT_FOUND: 404, ErrorKind.CONFLICT: 409,
    ErrorKind.TOO_LARGE: 413, ErrorKind.UNSUPPORTED: 415, ErrorKind.UNAVAILABLE: 503,
}  # fmt: skip
RETRY_AFTER_SECONDS = 5


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
        mimetype="application/json",
        charset="utf-8",
    )


def error_response(
    status: int, code: ErrorCode, message: str, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return json_response({"error": error_detail(code, message)}, status, headers)


def caller(req: func.HttpRequest) -> str:
    """The calling user's storage key (raises ServiceError 401/400)."""
    return resolve_user(req.headers.get(PRINCIPAL_HEADER), _services.settings())


def http_endpoint(
    handler: Callable[[func.HttpRequest], func.HttpResponse]
) -> Callable[[func.HttpRequest], func.HttpResponse]:
    """Turn service errors into JSON errors, storage outages into 503 + Retry-After,
    unusable app settings into a logged 500 ``configuration_error`` naming the setting
    (SettingsError messages never hold secrets), anything unexpected into a logged 500
    with no internals in the body; log one line per request (function, status, duration)."""

    @functools.wraps(handler)
    def wrapper(req: func.HttpRequest) -> func.HttpResponse:
        started = time.perf_counter()
        try:
            response = handler(req)
        except ServiceError as error:
            retry_after = error.retry_after
            if retry_after is None and error.kind == ErrorKind.UNAVAILABLE:
                retry_after = RETRY_AFTER_SECONDS
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
            response = error_response(STATUS.get(error.kind, 400), error.code, error.message, headers)
        except SettingsError as error:
            log.error("app settings are unusable: %s", error, extra={"function": handler.__name__})
            response = error_response(500, ErrorCode.CONFIGURATION_ERROR, f"the app is misconfigured: {error}")
        except StorageUnavailable:
            response = error_response(
                503,
                ErrorCode.STORAGE_UNAVAILABLE,
                "storage is unavailable; retry shortly",
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        except Exception:  # the client gets a generic error, the log gets the trace
            log.exception("unhandled error", extra={"function": handler.__name__})
            response = error_response(500, ErrorCode.INTERNAL_ERROR, "the server failed; the error is logged")
        event(
            log,
            "http",
            function=handler.__name__,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            outcome="ok" if response.status_code < 400 else "error",
        )
        return response

    return wrapper
