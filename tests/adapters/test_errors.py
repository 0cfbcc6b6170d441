"""How SDK errors become the adapters' errors: transient ones must be 503s, not 500s."""
from __future__ import annotations

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    IncompleteReadError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
)

from tagging.adapters.errors import Conflict, NotFound, StorageUnavailable, translate


def _status(error: HttpResponseError, status: int) -> HttpResponseError:
    error.status_code = status
    return error


@pytest.mark.parametrize(
    "error",
    [
        ServiceRequestError("connection refused"),
        _status(HttpResponseError("busy"), 503),
        _status(HttpResponseError("throttled"), 429),
        _status(HttpResponseError("timed out"), 408),
        DecodeError("reply cut short"),
        IncompleteReadError("reply cut short"),
        ClientAuthenticationError("managed identity endpoint not answering"),  # raised by the credential
    ],
    ids=["no-answer", "503", "429", "408", "decode", "incomplete-read", "token-unavailable"],
)
def test_transient_failures_are_unavailable(error: Exception) -> None:
    assert isinstance(translate(error), StorageUnavailable)


def test_answers_that_are_not_transient_keep_their_meaning() -> None:
    assert isinstance(translate(ResourceNotFoundError("gone")), NotFound)
    assert isinstance(translate(ResourceExistsError("there")), Conflict)
    assert isinstance(translate(_status(HttpResponseError("etag"), 412)), Conflict)
    forbidden = _status(ClientAuthenticationError("AuthorizationPermissionMismatch"), 403)  # a missing role
    assert translate(forbidden) is forbidden  # a configuration error: logged as a 500, not retried
    bad = _status(HttpResponseError("PropertyValueTooLarge"), 400)
    assert translate(bad) is bad
