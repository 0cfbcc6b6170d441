"""Storage failures, in words the services understand (no SDK types leak out)."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from azure.core.exceptions import AzureError

# azure.core (~0.1-0.2 s to import) is imported when an SDK error is first translated:
# by then a storage call has loaded it; importing the app does not.

T = TypeVar("T")


class StorageError(Exception):
    """Base class of the adapters' errors."""


class NotFound(StorageError):
    """The blob, entity or message does not exist."""


class Conflict(StorageError):
    """The entity already exists, or changed since it was read (ETag mismatch)."""


class StorageUnavailable(StorageError):
    """Storage did not answer or answered 5xx/429: transient, try again later."""


def translate(error: AzureError) -> StorageError | AzureError:
    """Map an Azure SDK error to the adapters' vocabulary (others pass through)."""
    from azure.core.exceptions import (
        HttpResponseError,
        ResourceExistsError,
        ResourceModifiedError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(error, ResourceNotFoundError):
        return NotFound(str(error).splitlines()[0] if str(error) else "not found")
    if isinstance(error, (ResourceExistsError, ResourceModifiedError)):
        return Conflict(str(error).splitlines()[0] if str(error) else "conflict")
    if isinstance(error, (ServiceRequestError, ServiceResponseError)):
        return StorageUnavailable(f"storage did not answer: {type(error).__name__}")
    if isinstance(error, HttpResponseError):
        status = error.status_code or 0
        if status == 412:
            return Conflict("the entity changed since it was read")
        if status >= 500 or status in (408, 429):
            return StorageUnavailable(f"storage answered {status}")
        if status == 0:
            # No status: a reply cut short or unreadable (DecodeError, IncompleteReadError),
            # or a token the credential could not get (ClientAuthenticationError raised
            # before any request, e.g. the managed identity endpoint briefly down).
            return StorageUnavailable(f"storage call failed before a status: {type(error).__name__}")
    return error


def _azure_error() -> type[AzureError]:
    from azure.core.exceptions import AzureError

    return AzureError


def storage_call(func: Callable[..., T]) -> Callable[..., T]:
    """Decorator: re-raise Azure SDK errors as StorageError subclasses."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        except _azure_error() as error:  # evaluated only when something was raised
            translated = translate(error)
            if translated is error:
                raise
            raise translated from error

    return wrapper
