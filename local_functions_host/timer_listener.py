"""Timer triggers after the WebJobs extension's ``TimerListener`` and ``ScheduleMonitor``.

- **One runner at a time per function.** The host's ``TimerListener`` is
  ``[Singleton(Mode = SingletonMode.Listener)]``: only the instance holding a blob lease
  in host storage (``azure-webjobs-hosts``) listens. The runner does the same with a
  blob lease on ``locks/<host id>/Host.Functions.<name>.Listener``, so with
  ``--workers N`` (or two runners on one storage account) exactly one process runs a
  timer. As in the host (``SingletonOptions``, ``SingletonManager``): the lease is
  host.json's ``singleton.listenerLockPeriod`` (default 60 s), renewed at half of it,
  sooner after a failed renewal (the interval halves, down to 1 s); a process without it
  tries again every ``singleton.listenerLockRecoveryPollingInterval`` (default 1 min), so
  a killed holder is replaced within lease + polling interval. A renewal refused by
  storage (4xx: the lease expired and another process took it, or the blob is gone)
  means the lock is lost: the host logs an error and shuts itself down, stopping every
  listener; the runner stops this timer (the invocation in progress finishes) and goes
  back to polling for the lock, as the restarted host would. One addition: a process
  whose renewal is overdue when an occurrence comes (it was starved or storage was
  slow) renews first, and does not invoke if the lock is lost.
- **No overlap.** Invocations of one timer run one after another: the next occurrence
  is computed after an invocation finishes, from its start time (or the scheduled
  ``Next`` if it fired early); an occurrence missed meanwhile fires at once, once.
- **Schedule monitor** (``use_monitor``, default on, off for schedules firing more than
  once a minute): ``{"Last", "Next", "LastUpdated"}`` (ISO 8601 UTC) in
  ``timers/<host id>/Host.Functions.<name>/status``. On start, a recorded ``Next`` in the
  past (schedule unchanged) makes one immediate invocation with ``past_due=True``;
  otherwise ``run_on_startup`` makes one immediate invocation. Both are skipped
  occurrences' only trace: missed occurrences are not replayed one by one.
- The function gets ``azure.functions.timer.TimerRequest(past_due, schedule_status,
  schedule={"AdjustForDST": true})``; ``schedule_status`` is empty without the monitor
  (the host passes a null ScheduleStatus then). A failure is logged and the schedule
  goes on (timers are not retried).

The host id is ``AzureFunctionsWebHost__hostid`` when set, else ``runner-<hash of the
app folder>``: never a real host's, so a runner and ``func start`` on one Azurite keep
separate locks and status.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.functions.timer import TimerRequest
from azure.storage.blob.aio import BlobClient, BlobLeaseClient, BlobServiceClient

from .hostconfig import SingletonOptions
from .indexing import TimerFunction
from .invoker import Invoker, log_invocation, new_invocation_id
from .queue_listener import STORAGE_LOG, STORAGE_WARNING_INTERVAL
from .schedule import Schedule, next_occurrences

log = logging.getLogger(__package__)
HOSTS_CONTAINER = "azure-webjobs-hosts"
HOST_ID_SETTING = "AzureFunctionsWebHost__hostid"
MIN_RENEW_SECONDS = 1.0  # the host's MinimumLeaseRenewalInterval
RELEASE_SECONDS = 5.0  # a stop gives up releasing the lock after this (it lapses within the lease period)
NEVER = datetime(1, 1, 1, tzinfo=UTC)  # .NET default(DateTime): "never"


def host_id(app_dir: Path, env: Mapping[str, str] | None = None) -> str:
    """``AzureFunctionsWebHost__hostid``, else ``runner-`` + 24 hex digits of the app path."""
    env = os.environ if env is None else env
    configured = env.get(HOST_ID_SETTING, "").strip().lower()
    if configured:
        return configured[:32]
    return "runner-" + hashlib.sha256(str(app_dir.resolve()).encode("utf-8")).hexdigest()[:24]


@dataclass
class ScheduleStatus:
    """What the schedule monitor records (aware UTC datetimes; NEVER for "not yet")."""

    last: datetime
    next: datetime
    last_updated: datetime

    def as_dict(self) -> dict[str, str]:
        return {
            "Last": self.last.isoformat(),
            "Next": self.next.isoformat(),
            "LastUpdated": self.last_updated.isoformat(),
        }

    @classmethod
    def parse(cls, text: bytes | str) -> ScheduleStatus | None:
        try:
            data = json.loads(text)
            return cls(*(_parse_time(data[key]) for key in ("Last", "Next", "LastUpdated")))
        except (ValueError, KeyError, TypeError):
            return None


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


def check_past_due(
    status: ScheduleStatus | None, schedule: Schedule, now: datetime
) -> tuple[ScheduleStatus, bool, bool]:
    """(status to use, past due?, status changed and must be written): the extension's
    ``ScheduleMonitor.CheckPastDueAsync``. A changed schedule (the recorded ``Next`` is
    not what ``Last``/``LastUpdated`` give) is re-based on ``now`` when that would be in
    the past, so a schedule change never counts as past due."""
    if status is None:
        fresh = ScheduleStatus(NEVER, schedule.next_after(now), now)
        return fresh, False, True
    changed = False
    if status.last != NEVER:
        expected, updated = schedule.next_after(status.last), status.last
    elif status.last_updated != NEVER:
        expected, updated = schedule.next_after(status.last_updated), status.last_updated
    else:
        expected, updated = schedule.next_after(now), now
    if status.next != expected:
        if now > expected:
            expected, updated = schedule.next_after(now), now
        status = ScheduleStatus(NEVER, expected, updated)
        changed = True
    return status, now > status.next, changed


class TimerListener:
    """Runs one timer function while this process holds its singleton lock."""

    def __init__(
        self, function: TimerFunction, invoker: Invoker, service: BlobServiceClient, host: str,
        singleton: SingletonOptions | None = None,
    ) -> None:  # fmt: skip
        self.function = function
        self._invoker = invoker
        singleton = singleton or SingletonOptions()
        self.lock_seconds = int(singleton.listener_lock_period)
        self.renew_seconds = singleton.listener_lock_period / 2  # the host renews halfway to expiry
        self.recovery_seconds = singleton.listener_lock_recovery_polling_interval
        self._renew_due = 0.0  # time.monotonic() when the next renewal is due
        container = service.get_container_client(HOSTS_CONTAINER)
        self._container = container
        self._lock_blob: BlobClient = container.get_blob_client(f"locks/{host}/Host.Functions.{function.name}.Listener")
        self._status_blob: BlobClient = container.get_blob_client(
            f"timers/{host}/Host.Functions.{function.name}/status"
        )
        self._lease: BlobLeaseClient | None = None
        self._stop = asyncio.Event()
        self._lost = asyncio.Event()
        self._running: asyncio.Task | None = None  # the invocation in progress
        self._last_warning = 0.0
        self.status: ScheduleStatus | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def run(self) -> None:
        """Acquire the lock, run the schedule while holding it, repeat until stopped."""
        while not self._stop.is_set():
            if not await self._acquire():
                await self._sleep(self.recovery_seconds)
                continue
            schedule = self.function.schedule
            assert schedule is not None
            log.info("timer %s: this process holds the singleton lock; schedule %r",
                     self.function.name, schedule.expression)  # fmt: skip
            self._lost.clear()
            renewing = asyncio.create_task(self._renew())
            try:
                await self._listen()
            except Exception as error:
                if isinstance(error, AzureError):
                    self._warn(f"timer {self.function.name}: storage error ({type(error).__name__}); retrying")
                else:
                    log.exception("timer %s: listener failed; retrying", self.function.name)
                renewing.cancel()
                await self._release()  # or a new acquisition would conflict with this process's own lease
                await self._sleep(self.recovery_seconds)
            finally:
                renewing.cancel()
            if self._lost.is_set():
                # Cleared, or every _sleep below would return at once (polling storage in a loop).
                self._lost.clear()
                if not self._stop.is_set():
                    log.warning("timer %s: stopped after losing the singleton lock; polling for it every %.0f s",
                                self.function.name, self.recovery_seconds)  # fmt: skip

    def stop_polling(self) -> None:
        self._stop.set()

    async def drain(self, timeout: float) -> int:
        """Wait up to ``timeout`` s for a running invocation, then release the lock;
        returns 1 when an invocation was left running."""
        left = 0
        if self._running is not None and not self._running.done():
            done, _ = await asyncio.wait({self._running}, timeout=timeout)
            left = 0 if done else 1
        await self._release()
        return left

    # -- the singleton lock ------------------------------------------------------------

    async def _acquire(self) -> bool:
        try:
            with contextlib.suppress(ResourceExistsError):
                await self._container.create_container()
            try:
                await self._lock_blob.upload_blob(b"", overwrite=False)
            except (ResourceExistsError, HttpResponseError) as error:
                if not _conflict(error):
                    raise
            lease = BlobLeaseClient(self._lock_blob)
            await lease.acquire(lease_duration=self.lock_seconds)
            self._lease = lease
            self._renew_due = time.monotonic() + self.renew_seconds
            return True
        except HttpResponseError as error:
            if _conflict(error):
                return False  # another process holds it
            self._warn(f"timer {self.function.name}: cannot reach host storage for the lock ({error.status_code})")
        except AzureError as error:
            self._warn(f"timer {self.function.name}: cannot reach host storage for the lock ({type(error).__name__})")
        return False

    async def _renew(self) -> None:
        """Renew when due (halfway to expiry); after a failed renewal the next comes after
        half the previous interval, at least MIN_RENEW_SECONDS (the host's
        LinearSpeedupStrategy). Ends when the lock is lost."""
        interval = self.renew_seconds
        while not self._lost.is_set():
            await asyncio.sleep(max(0.0, self._renew_due - time.monotonic()))
            if await self._renew_once():
                interval = self.renew_seconds
            elif not self._lost.is_set():
                interval = max(interval / 2, MIN_RENEW_SECONDS)
                self._renew_due = time.monotonic() + interval

    async def _renew_once(self) -> bool:
        """One renewal; True when it succeeded. A 4xx answer (the lease expired and was
        taken, or the blob is gone) sets ``_lost``; anything else is a failed attempt.
        An attempt is given at most half the lease period (the SDK's own timeouts are
        longer): after that the lease could lapse while it waits."""
        lease = self._lease
        if lease is None:
            return False
        started = time.monotonic()
        try:
            await asyncio.wait_for(lease.renew(), self.renew_seconds)
        except HttpResponseError as error:
            if error.status_code is not None and 400 <= error.status_code < 500:
                log.error("timer %s: singleton lock renewal failed with %s (%s): the lock is lost. The host shuts "
                          "itself down here; the runner stops this timer", self.function.name, error.status_code,
                          getattr(error, "error_code", None) or "no error code")  # fmt: skip
                self._lease = None
                self._lost.set()
                return False
            self._warn(f"timer {self.function.name}: lock renewal failed ({error.status_code}); retrying sooner")
            return False
        except (AzureError, TimeoutError) as error:
            self._warn(f"timer {self.function.name}: lock renewal failed ({type(error).__name__}); retrying sooner")
            return False
        self._renew_due = started + self.renew_seconds
        return True

    async def _release(self) -> None:
        lease, self._lease = self._lease, None
        if lease is None:
            return
        with contextlib.suppress(TimeoutError, AzureError):  # it lapses within the lease period
            await asyncio.wait_for(lease.release(), RELEASE_SECONDS)

    # -- the schedule ------------------------------------------------------------------

    async def _listen(self) -> None:
        function, schedule = self.function, self.function.schedule
        assert schedule is not None
        now = utc_now()
        past_due = False
        if function.use_monitor:
            recorded = await self._read_status()
            self.status, past_due, changed = check_past_due(recorded, schedule, now)
            if changed:
                await self._write_status()
        else:
            self.status = ScheduleStatus(NEVER, schedule.next_after(now), NEVER)
        upcoming = ", ".join(t.isoformat() for t in next_occurrences(schedule, now, 5))
        log.info("The next 5 occurrences of the '%s' schedule (%s) will be: %s",
                 function.name, schedule.expression, upcoming)  # fmt: skip
        if past_due:
            log.info("Function '%s' is past due on startup. Executing now.", function.name)
            await self._invoke(utc_now(), past_due=True)
        elif function.run_on_startup:
            log.info("Function '%s' is configured to run on startup. Executing now.", function.name)
            await self._invoke(utc_now(), run_on_startup=True)
        while not self._stop.is_set() and not self._lost.is_set():
            assert self.status is not None
            delay = (self.status.next - utc_now()).total_seconds()
            if delay > 0 and await self._sleep(delay):
                return  # stopped or lost the lock
            if time.monotonic() >= self._renew_due:
                # The renewal is overdue (this process was starved, or storage is slow):
                # the lease may have lapsed and been taken. Renew before invoking.
                await self._renew_once()
                if self._lost.is_set():
                    return
            await self._invoke(utc_now())

    async def _invoke(self, started_at: datetime, past_due: bool = False, run_on_startup: bool = False) -> None:
        function, status = self.function, self.status
        assert status is not None and function.schedule is not None
        if self._stop.is_set():
            return
        request = TimerRequest(
            past_due=past_due,
            schedule_status=status.as_dict() if function.use_monitor else None,
            schedule={"AdjustForDST": True},
        )
        invocation_id = new_invocation_id()
        started = time.perf_counter()
        reason = "past_due" if past_due else "run_on_startup" if run_on_startup else None
        self._running = asyncio.ensure_future(self._invoker.call(function, request, invocation_id))
        try:
            await asyncio.shield(self._running)
            log_invocation(function.name, invocation_id, "timer", started, "succeeded", reason=reason)
        except Exception:
            log.exception("function %s failed (invocation %s)", function.name, invocation_id)
            log_invocation(function.name, invocation_id, "timer", started, "failed", reason=reason)
        # The extension: an invocation that fired early counts from the scheduled Next.
        base = status.next if not past_due and not run_on_startup and status.next > started_at else started_at
        self.status = ScheduleStatus(base, function.schedule.next_after(base), base)
        if function.use_monitor:
            try:
                await self._write_status()
            except AzureError as error:
                self._warn(f"timer {function.name}: cannot write the schedule status ({type(error).__name__})")

    async def _read_status(self) -> ScheduleStatus | None:
        try:
            downloader = await self._status_blob.download_blob()
            return ScheduleStatus.parse(await downloader.readall())
        except ResourceNotFoundError:
            return None

    async def _write_status(self) -> None:
        assert self.status is not None
        await self._status_blob.upload_blob(json.dumps(self.status.as_dict()).encode("utf-8"), overwrite=True)

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; True when stopped or the lock was lost meanwhile."""
        stop, lost = asyncio.create_task(self._stop.wait()), asyncio.create_task(self._lost.wait())
        try:
            done, _ = await asyncio.wait({stop, lost}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            lost.cancel()
        return bool(done)

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last_warning >= STORAGE_WARNING_INTERVAL:
            self._last_warning = now
            STORAGE_LOG.warning("%s", message)


def _conflict(error: Exception) -> bool:
    return isinstance(error, ResourceExistsError) or getattr(error, "status_code", None) == 409


class BlobPool:
    """One async BlobServiceClient per connection string (short SDK retries)."""

    def __init__(self) -> None:
        self._services: dict[str, BlobServiceClient] = {}

    def service(self, connection_string: str) -> BlobServiceClient:
        service = self._services.get(connection_string)
        if service is None:
            service = BlobServiceClient.from_connection_string(
                connection_string,
                retry_total=2,  # read by the SDK's default ExponentialRetry, whose own
                initial_backoff=1,  # back-off (15 s, then 18 s) kept a stop with storage
                increment_base=2,  # gone waiting over 30 s; the listener retries itself
                random_jitter_range=1,
                connection_timeout=5,
                read_timeout=30,
                logger=STORAGE_LOG,
            )
            self._services[connection_string] = service
        return service

    async def close(self) -> None:
        for service in self._services.values():
            await service.close()
        self._services.clear()
