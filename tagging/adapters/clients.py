"""SDK clients, built once per process from the storage connection string."""
from __future__ import annotations

import os
import threading
import urllib.request
from dataclasses import dataclass
from functools import lru_cache

from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient, LinearRetry as BlobRetry
from azure.storage.queue import LinearRetry as QueueRetry, QueueServiceClient

from ..settings import Settings

# The SDK default (retry_total=10 with exponential back-off) turns a storage outage into
# minutes of hanging requests; the Functions host retries queue work itself, so keep
# the SDK's own retries short and let callers see StorageUnavailable quickly.
RETRY_TOTAL = 2
DOWNLOAD_BLOCK_BYTES = 4 * 1024 * 1024


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


_lock = threading.Lock()


@lru_cache(maxsize=4)
def get_clients(settings: Settings) -> Clients:
    """Service clients for ``settings`` (cached: one set per process and settings)."""
    with _lock:
        transport = _transport_options(settings)
        # Storage's default ExponentialRetry waits 15 s, then 18 s; retry twice ~0.5 s apart.
        storage_retry = {"backoff": 0.5, "retry_total": RETRY_TOTAL, "random_jitter_range": 0.2}
        return Clients(
            blob=BlobServiceClient.from_connection_string(
                settings.storage_connection,
                retry_policy=BlobRetry(**storage_retry),
                # Read downloads in 4 MiB pieces (SDK default 256 KiB): a 3 MB photo then
                # costs ~40 % less CPU to download.
                connection_data_block_size=DOWNLOAD_BLOCK_BYTES,
                **transport,
            ),
            queue=QueueServiceClient.from_connection_string(
                settings.storage_connection, retry_policy=QueueRetry(**storage_retry), **transport
            ),
            table=TableServiceClient.from_connection_string(
                settings.storage_connection,
                retry_total=RETRY_TOTAL,
                retry_backoff_factor=0.5,
                retry_backoff_max=2,
                **transport,
            ),
        )
