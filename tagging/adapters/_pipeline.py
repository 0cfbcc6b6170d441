"""Sending a hand-built request through an SDK client's own pipeline, and the SDK's
exception types for its answer (used by :mod:`._blob_requests` and
:mod:`._table_requests`).

The pipeline keeps the SDK's authentication (shared key or token), retry policy,
timeouts and transport. ``client`` is any storage client of the pinned SDKs
(``ContainerClient``, ``QueueClient``, ``TableClient``): each keeps its generated
client, whose ``_client`` is the ``PipelineClient``. These are private attributes of
the versions pinned in requirements.txt; ``tests/adapters/test_lean_requests.py``
checks them against Azurite.
"""
from __future__ import annotations

from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.core.rest import HttpRequest

_ERRORS = {404: ResourceNotFoundError, 409: ResourceExistsError, 412: ResourceModifiedError}


def send(client: Any, request: HttpRequest) -> Any:
    """The response to ``request``, body read (streamed, so azure-core does not decode it too)."""
    response = client._client._client.send_request(request, stream=True)
    response.read()
    return response


def sdk_error(status: int, message: str, response: Any) -> HttpResponseError:
    """The exception the SDK itself would raise for ``status``, so ``storage_call``
    translates it as before (404 NotFound, 409/412 Conflict, 5xx/429 unavailable)."""
    error = _ERRORS.get(status, HttpResponseError)(message=message, response=response)
    error.status_code = status
    return error
