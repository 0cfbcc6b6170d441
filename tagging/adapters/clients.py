"""SDK clients, built once per process from the storage connection settings.

Two forms (see :class:`tagging.settings.StorageConnection`): a connection string, or
service URIs with a Microsoft Entra token credential. The credential is made once per
process (per kind and client id) and ``azure.identity`` is imported only when identity
settings are used: it costs cold-start time the connection-string path does not need.
"""
from __future__ import annotations

import os
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient
from azure.storage.blob import LinearRetry as BlobRetry
from azure.storage.queue import LinearRetry as QueueRetry
from azure.storage.queue import QueueServiceClient

from ..settings import MANAGED_IDENTITY, Settings, StorageConnection

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

# The SDK default (retry_total=10 with exponential back-off) turns a storage outage into
# minutes of hanging requests; the Functions host retries queue work itself, so keep
# the SDK's own retries short and let callers see StorageUnavailable quickly.
RETRY_TOTAL = 2
DOWNLOAD_BLOCK_BYTES = 4 * 1024 * 1024

CredentialFactory = Callable[[StorageConnection], "TokenCredential"]


@dataclass
class Clients:
    blob: BlobServiceClient
    queue: QueueServiceClient
    table: TableServiceClient


def _transport_options(settings: Settings) -> dict:
    """Timeouts, and the environment read once rather than on every call.

    requests otherwise looks up every proxy variable, the CA bundle variables and the
    .netrc files per request (~0.4 ms of CPU a call). A configured proxy keeps that
    per-call look-up, since NO_PROXY is matched per URL; a CA bundle is passed on.
    """
    options: dict = {
        "connection_timeout": settings.storage_timeout_seconds,
        "read_timeout": max(settings.storage_timeout_seconds, 30),
    }
    if urllib.request.getproxies():
        return options
    options["use_env_settings"] = False
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        options["connection_verify"] = bundle
    return options


def azure_identity_credential(connection: StorageConnection) -> TokenCredential:
    """The credential the Functions host would use for ``connection``:
    ManagedIdentityCredential when ``credential`` is managedidentity (a user-assigned
    identity when ``client_id`` is set), DefaultAzureCredential otherwise (which tries a
    managed identity with ``client_id`` among its sources)."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential  # lazy: cold start

    if connection.credential == MANAGED_IDENTITY:
        if connection.client_id:
            return ManagedIdentityCredential(client_id=connection.client_id)
        return ManagedIdentityCredential()
    if connection.client_id:
        return DefaultAzureCredential(managed_identity_client_id=connection.client_id)
    return DefaultAzureCredential()


_lock = threading.Lock()
_credential_factory: CredentialFactory = azure_identity_credential
_credentials: dict[tuple[str, str | None], TokenCredential] = {}


def use_credential_factory(factory: CredentialFactory | None) -> None:
    """Seam for tests and tools: build the process's token credential with ``factory``
    (None restores azure.identity). Forgets cached credentials and clients."""
    global _credential_factory
    with _lock:
        _credential_factory = factory or azure_identity_credential
        _credentials.clear()
    get_clients.cache_clear()


def get_credential(connection: StorageConnection) -> TokenCredential:
    """The process's token credential for ``connection`` (made once per kind and client id)."""
    key = (connection.credential, connection.client_id)
    with _lock:
        credential = _credentials.get(key)
        if credential is None:
            credential = _credentials[key] = _credential_factory(connection)
        return credential


@lru_cache(maxsize=1)
def _lean_session_class() -> type:
    import requests
    from requests.structures import CaseInsensitiveDict

    class LeanSession(requests.Session):
        """``requests.Session.request`` without the per-call work azure-core never needs.

        azure-core's RequestsTransport calls ``session.request`` with a ready URL and
        headers, no params, cookies, auth, hooks or redirects, and (here) no proxies or
        environment look-ups. requests then still merges session settings, prepares the
        URL again (IDNA, re-quoting), handles cookies and hooks: ~0.6 ms of CPU per
        storage call on this machine, ~14 calls an image. This goes straight to the
        mounted adapter (same urllib3 pool, timeouts, TLS verification, errors, and the
        session's default headers); any other call takes requests' own path.
        """

        def request(
            self, method: str, url: Any, params: Any = None, data: Any = None, headers: Any = None,
            cookies: Any = None, files: Any = None, auth: Any = None, timeout: Any = None,
            allow_redirects: bool = True, proxies: Any = None, hooks: Any = None, stream: bool | None = None,
            verify: Any = None, cert: Any = None, json: Any = None,
        ) -> requests.Response:  # fmt: skip
            if (params or cookies or files or auth or hooks or json is not None or proxies or allow_redirects
                    or self.trust_env or self.cookies or self.auth or self.proxies):  # fmt: skip
                return super().request(method, url, params=params, data=data, headers=headers, cookies=cookies,
                                       files=files, auth=auth, timeout=timeout, allow_redirects=allow_redirects,
                                       proxies=proxies, hooks=hooks, stream=stream, verify=verify, cert=cert,
                                       json=json)  # fmt: skip
            prepared = requests.PreparedRequest()
            prepared.method = method.upper()
            prepared.url = url
            merged: CaseInsensitiveDict[str | bytes] = CaseInsensitiveDict(self.headers)
            if headers:
                merged.update(headers)
            prepared.headers = merged
            prepared._cookies = None
            prepared.hooks = {"response": []}
            prepared.prepare_body(data, None, None)  # Content-Length or chunked, as requests does
            response = self.get_adapter(url).send(
                prepared, stream=bool(stream), timeout=timeout, verify=self.verify if verify is None else verify,
                cert=cert, proxies={},
            )  # fmt: skip
            if not stream:
                response.content  # noqa: B018 - read the body now, as requests does
            return response

    return LeanSession


def _lean_transport(options: dict[str, Any]) -> Any:
    """A RequestsTransport over a LeanSession, configured as azure-core configures its own
    (``options``: the timeouts, verification and block size the client would get)."""
    from azure.core.pipeline.transport import RequestsTransport
    from requests.adapters import HTTPAdapter
    from urllib3 import Retry

    session = _lean_session_class()()
    session.trust_env = False
    adapter = HTTPAdapter(max_retries=Retry(total=False, redirect=False, raise_on_status=False))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return RequestsTransport(session=session, session_owner=False, **options)


@lru_cache(maxsize=4)
def get_clients(settings: Settings) -> Clients:
    """Service clients for ``settings`` (cached: one set per process and settings)."""
    connection = settings.storage_connection
    credential = get_credential(connection) if connection.uses_identity else None
    with _lock:
        transport: dict[str, Any] = _transport_options(settings)
        # Storage's default ExponentialRetry waits 15 s, then 18 s; retry twice ~0.5 s apart.
        # Any: the SDK types backoff and random_jitter_range as int; fractions work.
        storage_retry: dict[str, Any] = {"backoff": 0.5, "retry_total": RETRY_TOTAL, "random_jitter_range": 0.2}
        # Read downloads in 4 MiB pieces (SDK default 256 KiB): a 3 MB photo then costs
        # ~40 % less CPU to download.
        blob_options: dict[str, Any] = {
            "retry_policy": BlobRetry(**storage_retry),
            "connection_data_block_size": DOWNLOAD_BLOCK_BYTES,
        }
        queue_options: dict[str, Any] = {"retry_policy": QueueRetry(**storage_retry)}
        table_options: dict[str, Any] = {
            "retry_total": RETRY_TOTAL, "retry_backoff_factor": 0.5, "retry_backoff_max": 2
        }
        if transport.get("use_env_settings") is False:  # no proxy: the lean session applies
            blob_options["transport"] = _lean_transport(
                {**transport, "connection_data_block_size": DOWNLOAD_BLOCK_BYTES}
            )
            queue_options["transport"] = _lean_transport(transport)
            table_options["transport"] = _lean_transport(transport)
        if connection.connection_string:
            secret = connection.connection_string
            return Clients(
                blob=BlobServiceClient.from_connection_string(secret, **blob_options, **transport),
                queue=QueueServiceClient.from_connection_string(secret, **queue_options, **transport),
                table=TableServiceClient.from_connection_string(secret, **table_options, **transport),
            )
        assert connection.blob_uri and connection.queue_uri and connection.table_uri  # StorageConnection checks
        return Clients(
            blob=BlobServiceClient(connection.blob_uri, credential=credential, **blob_options, **transport),
            queue=QueueServiceClient(connection.queue_uri, credential=credential, **queue_options, **transport),
            table=TableServiceClient(connection.table_uri, credential=credential, **table_options, **transport),
        )
