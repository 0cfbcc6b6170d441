"""Read-only SAS tokens for single blobs, signed locally.

Which signer a blob store gets depends on its credential:

- an account key (connection string with ``AccountKey``): a service SAS;
- a Microsoft Entra token credential (identity-based settings): a **user-delegation
  SAS**, signed with a user delegation key fetched with the identity;
- neither (a connection string holding only a SAS token): nothing can be signed; URLs
  are None and one warning per process says what to configure.

User delegation keys (see :class:`DelegationKeyCache`): one key per process, requested
for ``KEY_LIFETIME`` (24 h; longer when the SAS TTL needs it, never over the service's
7 days) and replaced once less than ``2 x SAS TTL + REFRESH_MARGIN`` of it remains, so a
key is fetched about once a day and never on a request's critical path while the old
key is still good. A SAS never outlives its key: its expiry is capped at the key's
expiry minus ``KEY_EXPIRY_GUARD``. If a refresh fails the current key stays in use while
it can still sign a SAS; only when no usable key exists does signing raise
StorageUnavailable (HTTP 503).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from azure.storage.blob import BlobSasPermissions, UserDelegationKey, generate_blob_sas

from ..core.records import parse_iso
from .errors import StorageUnavailable

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
KeyFetcher = Callable[[datetime, datetime], UserDelegationKey]

CLOCK_SKEW = timedelta(minutes=5)  # SAS and keys start this much in the past
KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LIFETIME = timedelta(days=7) - CLOCK_SKEW  # the service allows up to 7 days from now
REFRESH_MARGIN = timedelta(minutes=15)
KEY_EXPIRY_GUARD = timedelta(minutes=1)  # a SAS expires at least this long before its key


def utc_now() -> datetime:
    return datetime.now(UTC)


class Signer(Protocol):
    def sign(self, container: str, blob: str, content_disposition: str | None = None) -> str | None:
        """The SAS query string (no ``?``) for reading exactly ``container/blob``, or None."""


@dataclass
class AccountKeySigner:
    """Service SAS signed with the account key; valid for ``ttl`` from ``clock()``."""

    account_name: str
    account_key: str
    ttl: timedelta
    clock: Clock = utc_now

    def sign(self, container: str, blob: str, content_disposition: str | None = None) -> str | None:
        now = self.clock()
        return generate_blob_sas(
            account_name=self.account_name,
            container_name=container,
            blob_name=blob,
            account_key=self.account_key,
            permission=BlobSasPermissions(read=True),
            start=now - CLOCK_SKEW,
            expiry=now + self.ttl,
            content_disposition=content_disposition,
        )

    def __repr__(self) -> str:  # never show the key
        return f"AccountKeySigner(account_name={self.account_name!r}, ttl={self.ttl})"


def key_lifetime(ttl: timedelta) -> timedelta:
    """How long a requested delegation key is valid: 24 h, or 4 x the SAS TTL when that
    is longer, at most the service's 7 days (less clock skew)."""
    return min(MAX_KEY_LIFETIME, max(KEY_LIFETIME, 4 * ttl))


def refresh_threshold(ttl: timedelta) -> timedelta:
    """A key is replaced when less than this remains: 2 x SAS TTL + 15 min, but at most
    half the key's lifetime (so a key is used for at least half of it)."""
    return min(2 * ttl + REFRESH_MARGIN, key_lifetime(ttl) / 2)


class DelegationKeyCache:
    """One user delegation key, fetched with ``fetch(start, expiry)`` and shared by every
    thread; see the module docstring for lifetime and refresh. ``fetches`` counts calls."""

    def __init__(self, fetch: KeyFetcher, ttl: timedelta, clock: Clock = utc_now) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._current: tuple[UserDelegationKey, datetime] | None = None
        self.fetches = 0

    def key(self) -> tuple[UserDelegationKey, datetime]:
        """(key, key expiry) usable for a SAS issued now; raises StorageUnavailable when
        no key can be had."""
        current = self._current  # one read: (key, expiry) change together
        now = self._clock()
        if current is not None and current[1] - now >= refresh_threshold(self._ttl):
            return current
        with self._lock:
            current = self._current
            now = self._clock()
            if current is not None and current[1] - now >= refresh_threshold(self._ttl):
                return current  # another thread refreshed it
            try:
                fresh = self._request(now)
            except Exception as error:  # any failure: keep the old key if it still signs
                if current is not None and current[1] - now > KEY_EXPIRY_GUARD + timedelta(seconds=30):
                    log.warning("user delegation key refresh failed (%s); using the current key until %s",
                                type(error).__name__, current[1].isoformat())  # fmt: skip
                    return current
                log.warning(
                    "could not get a user delegation key (%s: %s); SAS URLs cannot be signed. The identity needs "
                    "a role with generateUserDelegationKey, e.g. Storage Blob Data Contributor or Owner",
                    type(error).__name__, str(error).splitlines()[0] if str(error) else "",
                )  # fmt: skip
                raise StorageUnavailable("could not get a user delegation key to sign URLs") from error
            self._current = fresh
            return fresh

    def _request(self, now: datetime) -> tuple[UserDelegationKey, datetime]:
        start = now - CLOCK_SKEW
        expiry = now + key_lifetime(self._ttl)
        key = self._fetch(start, expiry)
        self.fetches += 1
        signed_expiry = getattr(key, "signed_expiry", None)
        signed = parse_iso(signed_expiry) if signed_expiry else expiry
        return key, min(signed, expiry)


@dataclass
class UserDelegationSigner:
    """User-delegation SAS: valid for ``ttl`` from ``clock()``, capped to end
    ``KEY_EXPIRY_GUARD`` before the delegation key does."""

    account_name: str
    keys: DelegationKeyCache
    ttl: timedelta
    clock: Clock = utc_now

    def sign(self, container: str, blob: str, content_disposition: str | None = None) -> str | None:
        key, key_expiry = self.keys.key()
        now = self.clock()
        return generate_blob_sas(
            account_name=self.account_name,
            container_name=container,
            blob_name=blob,
            user_delegation_key=key,
            permission=BlobSasPermissions(read=True),
            start=now - CLOCK_SKEW,
            expiry=min(now + self.ttl, key_expiry - KEY_EXPIRY_GUARD),
            content_disposition=content_disposition,
        )


_warned = threading.Event()


class NoSigner:
    """The connection can read and write but not sign (a SAS-token connection string):
    URLs are None; the first call logs one warning per process saying what to set."""

    def sign(self, container: str, blob: str, content_disposition: str | None = None) -> str | None:
        if not _warned.is_set():
            _warned.set()
            log.warning(
                "image and thumbnail URLs are null: the storage connection string has a SAS token but no "
                "AccountKey, so read URLs cannot be signed. Set AzureWebJobsStorage to a connection string with "
                "AccountKey, or use identity-based settings (AzureWebJobsStorage__accountName or "
                "AzureWebJobsStorage__blobServiceUri, with a role that may create user delegation keys)"
            )
        return None


def signer_for(service: Any, ttl_seconds: int, clock: Clock = utc_now) -> Signer:
    """The signer for a ``BlobServiceClient``'s credential (see the module docstring)."""
    ttl = timedelta(seconds=ttl_seconds)
    credential = service.credential
    account_key = getattr(credential, "account_key", None)
    if account_key:
        return AccountKeySigner(service.account_name, account_key, ttl, clock)
    if hasattr(credential, "get_token") or hasattr(credential, "get_token_info"):
        keys = DelegationKeyCache(
            lambda start, expiry: service.get_user_delegation_key(start, expiry), ttl, clock
        )
        return UserDelegationSigner(service.account_name, keys, ttl, clock)
    return NoSigner()
