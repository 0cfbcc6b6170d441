"""SAS signing without a network: which signer a connection gets, the delegation-key
cache (lifetime, refresh, threads, failures) and the one warning of a SAS-only string."""
from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError
from azure.storage.blob import UserDelegationKey

from tagging.adapters import StorageUnavailable
from tagging.adapters.sas import DelegationKeyCache, UserDelegationSigner, key_lifetime, refresh_threshold

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=900)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakeKeys:
    """Stands in for BlobServiceClient.get_user_delegation_key: records requests."""

    def __init__(self, delay: float = 0.0) -> None:
        self.requests: list[tuple[datetime, datetime]] = []
        self.delay = delay
        self.fail: Exception | None = None

    def __call__(self, start: datetime, expiry: datetime) -> UserDelegationKey:
        time.sleep(self.delay)
        if self.fail:
            raise self.fail
        self.requests.append((start, expiry))
        key = UserDelegationKey()
        key.signed_oid, key.signed_tid = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
        key.signed_start = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        key.signed_expiry = expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
        key.signed_service, key.signed_version = "b", "2026-06-06"
        key.value = "a2V5LWJ5dGVzLWZvci10ZXN0cy1vbmx5LTEyMzQ1Njc="
        return key


def _sas_times(token: str) -> tuple[datetime, datetime]:
    query = parse_qs(token)
    parse = lambda v: datetime.fromisoformat(v.replace("Z", "+00:00"))  # noqa: E731 - a one-line helper local to this test
    return parse(query["se"][0]), parse(query["ske"][0])


def test_the_key_lives_a_day_and_is_replaced_45_minutes_before_it_expires():
    assert key_lifetime(TTL) == timedelta(hours=24) and refresh_threshold(TTL) == timedelta(minutes=45)
    week = timedelta(days=7)
    assert key_lifetime(week) < week and refresh_threshold(week) == key_lifetime(week) / 2


def test_one_key_serves_many_sas_until_the_refresh_threshold():
    clock, fetch = Clock(), FakeKeys()
    signer = UserDelegationSigner("acct", DelegationKeyCache(fetch, TTL, clock), TTL, clock)
    for n in range(50):
        signer.sign("images", f"u/{n}")
    assert len(fetch.requests) == 1
    start, expiry = fetch.requests[0]
    assert start == T0 - timedelta(minutes=5) and expiry == T0 + timedelta(hours=24)
    clock.now = T0 + timedelta(hours=23, minutes=14)  # 46 min left: still used
    signer.sign("images", "u/x")
    assert len(fetch.requests) == 1
    clock.now = T0 + timedelta(hours=23, minutes=16)  # 44 min left: replaced
    token = signer.sign("images", "u/x")
    assert len(fetch.requests) == 2 and fetch.requests[1][0] == clock.now - timedelta(minutes=5)
    sas_expiry, key_expiry = _sas_times(token)
    assert sas_expiry == clock.now + TTL and sas_expiry < key_expiry


def test_every_sas_expires_before_its_key():
    clock, fetch = Clock(), FakeKeys()
    week = timedelta(days=7)  # the longest TAGGING_SAS_TTL_SECONDS: capped by the key
    signer = UserDelegationSigner("acct", DelegationKeyCache(fetch, week, clock), week, clock)
    for hours in (0, 30, 60, 83):
        clock.now = T0 + timedelta(hours=hours)
        sas_expiry, key_expiry = _sas_times(signer.sign("images", "u/1"))
        assert sas_expiry <= key_expiry - timedelta(minutes=1)


def test_concurrent_first_requests_fetch_one_key():
    fetch = FakeKeys(delay=0.2)
    signer = UserDelegationSigner("acct", DelegationKeyCache(fetch, TTL), TTL)
    threads = [threading.Thread(target=signer.sign, args=("images", f"u/{n}")) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fetch.requests) == 1


@pytest.mark.parametrize(
    "failure",
    [
        ServiceRequestError("connection refused"),
        HttpResponseError("403 AuthorizationPermissionMismatch"),
        RuntimeError("identity endpoint down"),
    ],
)
def test_no_key_is_storage_unavailable(failure, caplog):
    fetch = FakeKeys()
    fetch.fail = failure
    signer = UserDelegationSigner("acct", DelegationKeyCache(fetch, TTL), TTL)
    with caplog.at_level(logging.WARNING, logger="tagging.adapters.sas"), pytest.raises(StorageUnavailable):
        signer.sign("images", "u/1")
    assert "user delegation key" in caplog.text


def test_a_failed_refresh_keeps_the_current_key_while_it_can_sign():
    clock, fetch = Clock(), FakeKeys()
    signer = UserDelegationSigner("acct", DelegationKeyCache(fetch, TTL, clock), TTL, clock)
    signer.sign("images", "u/1")
    fetch.fail = ServiceRequestError("down")
    clock.now = T0 + timedelta(hours=23, minutes=30)  # refresh due, 35 min of key left
    sas_expiry, key_expiry = _sas_times(signer.sign("images", "u/1"))
    assert sas_expiry == clock.now + TTL and sas_expiry < key_expiry
    clock.now = T0 + timedelta(hours=23, minutes=50)  # 10 min left: the SAS is cut short
    sas_expiry, key_expiry = _sas_times(signer.sign("images", "u/1"))
    assert sas_expiry == key_expiry - timedelta(minutes=1)
    clock.now = T0 + timedelta(hours=23, minutes=59)  # too little left to sign
    with pytest.raises(StorageUnavailable):
        signer.sign("images", "u/1")
    fetch.fail = None
    signer.sign("images", "u/1")
    assert len(fetch.requests) == 2
