"""Queue triggers with the WebJobs Storage extension's semantics (host.json
``extensions.queues``), after its QueueListener and QueueProcessor:

- Poll with ``batchSize`` messages per receive; after a non-empty receive, receive
  again as soon as the messages in flight drop to ``newBatchThreshold``; after an
  empty one, wait as the host's ``RandomizedExponentialBackoffStrategy`` says (see
  :class:`Backoff`), up to ``maxPollingInterval``. Moving a message to a poison queue
  wakes that queue's listener in this process at once; nothing else does (in the host
  only a queue *output binding* or a poison move notifies its ``SharedQueueWatcher``,
  so a message the app sends with the Storage SDK waits for the next poll).
- A received message is leased (invisible) for ``lease_seconds`` (30 s) and the lease
  is renewed at half time while the function runs, keeping the new pop receipt, so a
  crashed runner's messages come back within a minute (the host leases for 10 min).
  A message this process already runs is never started twice: if its lease lapsed
  and it comes back, the running invocation adopts the new pop receipt.
- Success deletes the message. Failure makes it visible again after
  ``visibilityTimeout``; the failure at ``maxDequeueCount`` moves it to
  ``<queue>-poison`` (new message with the same text, then the original is deleted);
  a message received with a higher dequeue count (its runner crashed) moves without
  running. A queue named ``*-poison`` has no poison queue: a failed message there,
  or one past ``maxDequeueCount``, stays invisible for 10 minutes, as the host leaves
  its lease in place.
- ``messageEncoding``: ``base64`` (default) or ``none``. Text that is not valid
  base64 is moved to the poison queue at once without running the function
  (warning "Message decoding has failed"), as the extension's MessageDecodingFailed
  handler does; in a ``*-poison`` queue it stays invisible for 10 minutes.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import math
import random
import re
import time
import urllib.request
from collections.abc import Callable
from typing import Any, cast

import aiohttp
from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.functions.queue import QueueMessage
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from .hostconfig import MIN_POLLING_INTERVAL, QueueOptions
from .indexing import QueueFunction
from .invoker import Invoker, log_invocation, new_invocation_id
from .queue_requests import LeanQueue

log = logging.getLogger(__package__)
STORAGE_LOG = logging.getLogger(f"{__package__}.storage")
POISON_SUFFIX = "-poison"
PARK_SECONDS = 600  # the host's receive lease, left in place where there is no poison queue
LEASE_SECONDS = 30
STORAGE_WARNING_INTERVAL = 30.0  # seconds between repeated storage warnings per queue


class InvalidMessageEncoding(ValueError):
    """The message text is not valid under the configured messageEncoding."""


def decode_body(text: str, encoding: str) -> bytes:
    """Message bytes from the message text. ``base64`` is strict like .NET's
    Convert.FromBase64String (whitespace ignored, padding required)."""
    if encoding == "none":
        return text.encode("utf-8")
    try:
        return base64.b64decode(re.sub(r"[ \t\r\n]", "", text), validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidMessageEncoding(f"not valid base64: {error}") from None


def poison_queue_name(queue: str) -> str | None:
    """``<queue>-poison``, or None for a poison queue or when the name would be too long."""
    if queue.endswith(POISON_SUFFIX) or len(queue) + len(POISON_SUFFIX) > 63:
        return None
    return queue + POISON_SUFFIX


class Backoff:
    """The wait after an empty poll (seconds), as the WebJobs Storage extension's
    ``QueueListener`` takes it from ``RandomizedExponentialBackoffStrategy(minimum=100 ms,
    maximum=maxPollingInterval)`` (azure-sdk-for-net, sdk/storage/
    Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/Timers/
    RandomizedExponentialBackoffStrategy.cs and .../Queues/QueueListener.cs):

    - the first empty poll after messages were found waits exactly ``minimum``;
    - each further one waits ``minimum + U(0.8, 1.2) * minimum * 2**(n - 1)`` for the
      n-th step (100 ms, ~200, ~300, ~500, ~900 ms, ...) until that would reach
      ``maximum``; from then on exactly ``maximum``, not randomised, until messages
      are found again.
    """

    RANDOMISATION = 0.2

    def __init__(self, maximum: float, minimum: float = MIN_POLLING_INTERVAL) -> None:
        self.minimum, self.maximum = minimum, max(minimum, maximum)
        self.current = 0.0
        self._exponent = 0
        self._found = False

    def found(self) -> None:
        """Messages were received: the next wait starts again from ``minimum``."""
        self._found = True

    def next(self) -> float:
        if self._found:
            self._found = False
            self.current, self._exponent = self.minimum, 1
        elif self.current != self.maximum:
            delay = self.minimum
            if self._exponent > 0:
                spread = random.uniform(1 - self.RANDOMISATION, 1 + self.RANDOMISATION)
                delay += spread * 2 ** (self._exponent - 1) * self.minimum
            if delay < self.maximum:
                self.current = delay
                self._exponent += 1
            else:
                self.current = self.maximum
        return self.current


class ClientPool:
    """One async QueueServiceClient per connection string, with short SDK retries
    (the listener retries by polling again)."""

    def __init__(self) -> None:
        self._services: dict[str, QueueServiceClient] = {}
        self._session: aiohttp.ClientSession | None = None

    def queue(self, connection_string: str, name: str) -> QueueClient:
        service = self._services.get(connection_string)
        if service is None:
            service = QueueServiceClient.from_connection_string(
                connection_string,
                retry_total=2,  # read by the SDK's default ExponentialRetry
                initial_backoff=1,
                increment_base=2,
                random_jitter_range=1,
                connection_timeout=5,
                read_timeout=30,
                # aiohttp's trust_env looks up proxies and .netrc on every request;
                # keep it only where a proxy is configured.
                use_env_settings=bool(urllib.request.getproxies()),
                # The runner's own polling stands for the host's (.NET) traffic: its HTTP
                # log records go to a runner logger kept at WARNING, not to the app's
                # "azure" loggers, so they never mix with what the app's SDK use logs.
                logger=STORAGE_LOG,
            )
            self._services[connection_string] = service
        return service.get_queue_client(name)

    def lean(self, client: QueueClient) -> LeanQueue | None:
        """Receive and delete for ``client``'s queue without the SDK's pipeline, when it
        connects with an account key and no proxy is configured (else None: use the SDK)."""
        credential = client.credential
        key = getattr(credential, "account_key", None)
        if not key or urllib.request.getproxies():
            return None
        if self._session is None:
            timeout = aiohttp.ClientTimeout(sock_connect=5, sock_read=30)
            self._session = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        return LeanQueue(self._session, client.url, credential.account_name, key)

    async def close(self) -> None:
        for service in self._services.values():
            await service.close()
        self._services.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None


def _gone(error: AzureError) -> bool:
    """The message was deleted or taken over by another receiver (pop receipt mismatch)."""
    return isinstance(error, ResourceNotFoundError) or (
        isinstance(error, HttpResponseError) and error.status_code in (400, 404)
    )


class Lease:
    """Keeps one received message invisible while its function runs."""

    def __init__(
        self, client: QueueClient, message_id: str, pop_receipt: str, seconds: int, lean: LeanQueue | None = None
    ) -> None:
        self.client = client
        self.lean = lean
        self.message_id = message_id
        self.pop_receipt = pop_receipt
        self.seconds = seconds
        self.lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._renew())

    async def stop(self) -> None:
        """Stop renewing; waits for a renewal in progress so the pop receipt is current."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def adopt(self, pop_receipt: str) -> None:
        """Take the pop receipt of a fresh receive of this same message (and renew
        again if renewal had given up)."""
        async with self.lock:
            self.pop_receipt = pop_receipt
        if self._task is not None and self._task.done() and not self._stop.is_set():
            self._task = asyncio.create_task(self._renew())

    async def set_visibility(self, seconds: float) -> bool:
        """Make the message visible again after ``seconds``; False when it is gone."""
        async with self.lock:
            try:
                receipt = await self.client.update_message(
                    self.message_id, self.pop_receipt, visibility_timeout=max(0, math.ceil(seconds))
                )
            except AzureError as error:
                if _gone(error):
                    return False
                raise
            # The SDK's Optional: update_message always answers with the new receipt.
            self.pop_receipt = cast(str, receipt.pop_receipt)
            return True

    async def delete(self) -> bool:
        async with self.lock:
            try:
                if self.lean is not None:
                    await self.lean.delete(self.message_id, self.pop_receipt)
                else:
                    await self.client.delete_message(self.message_id, self.pop_receipt)
            except AzureError as error:
                if _gone(error):
                    return False
                raise
            return True

    async def _renew(self) -> None:
        interval = self.seconds / 2
        while True:
            try:
                await asyncio.wait_for(self._stop.wait(), interval)
                return
            except TimeoutError:
                pass
            try:
                if not await self.set_visibility(self.seconds):
                    log.warning("lease lost: message_id=%s was deleted or taken by another receiver", self.message_id)
                    return
                interval = self.seconds / 2
            except Exception as error:  # noqa: BLE001 - transient; try again soon
                log.warning(
                    "lease renewal failed for message_id=%s (%s); retrying", self.message_id, type(error).__name__
                )
                interval = min(1.0, self.seconds / 4)


class QueueListener:
    """Polls one queue for one function."""

    def __init__(
        self,
        function: QueueFunction,
        options: QueueOptions,
        invoker: Invoker,
        clients: ClientPool,
        notify: Callable[[str], None],
        lease_seconds: int = LEASE_SECONDS,
    ) -> None:
        self.function = function
        self.options = options
        self.invoker = invoker
        self.queue_name = function.queue_name
        self.poison_name = poison_queue_name(function.queue_name)
        self.lease_seconds = max(2, int(lease_seconds))
        self._client = clients.queue(function.connection_string, self.queue_name)
        self._lean = clients.lean(self._client)
        self._poison = clients.queue(function.connection_string, self.poison_name) if self.poison_name else None
        self._notify_other = notify
        self._backoff = Backoff(options.max_polling_interval)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._leases: dict[str, Lease] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # one per message being handled
        # Other tasks this listener starts (a pop receipt adopted): the event loop keeps
        # only weak references to tasks, so an unreferenced one can vanish mid-way.
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._last_warning = 0.0

    def notify(self) -> None:
        """Poll now (a message was just added to this queue)."""
        self._wake.set()

    def stop_polling(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Poll until :meth:`stop_polling`."""
        await self._ensure_queue()
        while not self._stopping.is_set():
            try:
                messages = await self._receive()
            except ResourceNotFoundError:
                await self._ensure_queue()
                messages = []
            except AzureError as error:
                self._storage_warning("receive", error)
                messages = []
            except Exception:
                log.exception("queue %s: receive failed", self.queue_name)
                messages = []
            if messages and self._stopping.is_set():
                await self._release_unstarted(messages)
                break
            if messages:
                self._backoff.found()
                for message in messages:
                    self._dispatch(message)
                await self._wait_for_threshold()
            else:
                await self._sleep(self._backoff.next())

    async def drain(self, timeout: float) -> int:
        """Wait up to ``timeout`` s for running messages; release the leases of the
        ones still running (they run again elsewhere) and return how many."""
        if self._tasks or self._side_tasks:
            await asyncio.wait({*self._tasks, *self._side_tasks}, timeout=timeout)
        abandoned = [lease for lease in self._leases.values()]
        for lease in abandoned:
            try:
                await lease.stop()
                await asyncio.wait_for(lease.set_visibility(0), 5)
            except (TimeoutError, AzureError):
                pass
        return len(abandoned)

    async def _release_unstarted(self, messages: list[Any]) -> None:
        """Messages received while stopping: make them visible again at once."""
        for message in messages:
            lease = Lease(self._client, message.id, message.pop_receipt, self.lease_seconds)
            with contextlib.suppress(AzureError):
                await lease.set_visibility(0)

    async def _ensure_queue(self) -> None:
        try:
            await self._client.create_queue()
        except ResourceExistsError:
            pass
        except AzureError as error:
            self._storage_warning("create queue", error)

    async def _receive(self) -> list[Any]:
        if self._lean is not None:
            return await self._lean.receive(self.options.batch_size, self.lease_seconds)
        pager = self._client.receive_messages(
            messages_per_page=self.options.batch_size, visibility_timeout=self.lease_seconds
        )
        async for page in pager.by_page():
            return [message async for message in page]
        return []

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _wait_for_threshold(self) -> None:
        while len(self._tasks) > self.options.new_batch_threshold and not self._stopping.is_set():
            stop = asyncio.create_task(self._stopping.wait())
            await asyncio.wait({*self._tasks, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()

    def _dispatch(self, message: Any) -> None:
        running = self._leases.get(message.id)
        if running is not None:
            log.warning("message_id=%s came back while it runs here; keeping the running invocation", message.id)
            adopting = asyncio.create_task(running.adopt(message.pop_receipt))
            self._side_tasks.add(adopting)
            adopting.add_done_callback(self._side_tasks.discard)
            return
        lease = Lease(self._client, message.id, message.pop_receipt, self.lease_seconds, self._lean)
        self._leases[message.id] = lease
        task = asyncio.create_task(self._process(message, lease))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _process(self, message: Any, lease: Lease) -> None:
        try:
            await self._handle(message, lease)
        except AzureError as error:  # the message comes back when its lease lapses
            self._storage_warning("complete message", error)
        except Exception:
            log.exception("queue %s: handling message_id=%s failed", self.queue_name, message.id)
        finally:
            await lease.stop()
            self._leases.pop(message.id, None)

    async def _handle(self, message: Any, lease: Lease) -> None:
        max_count = self.options.max_dequeue_count
        if message.dequeue_count > max_count:  # its last run never completed (crash, kill)
            if self._poison is not None:
                await self._move_to_poison(message, lease)
            else:
                await lease.set_visibility(PARK_SECONDS)
            return
        try:
            body = decode_body(message.content or "", self.options.message_encoding)
        except InvalidMessageEncoding:
            log.warning(
                "Message decoding has failed! Check MessageEncoding settings (%s). function=%s queue=%s message_id=%s",
                self.options.message_encoding, self.function.name, self.queue_name, message.id,
            )  # fmt: skip
            if self._poison is not None:
                await self._move_to_poison(message, lease)
            else:
                await lease.set_visibility(PARK_SECONDS)
            return
        invocation_id = new_invocation_id()
        started = time.perf_counter()
        argument = QueueMessage(
            id=message.id,
            body=body,
            dequeue_count=message.dequeue_count,
            pop_receipt=message.pop_receipt,
            insertion_time=message.inserted_on,
            expiration_time=message.expires_on,
            time_next_visible=message.next_visible_on,
        )
        lease.start()
        try:
            await self.invoker.call(self.function, argument, invocation_id)
            succeeded = True
        except Exception:
            log.exception("function %s (invocation_id=%s) failed", self.function.name, invocation_id)
            succeeded = False
        await lease.stop()
        log_invocation(
            self.function.name, invocation_id, "queue", started, "succeeded" if succeeded else "failed",
            queue=self.queue_name, message_id=message.id, dequeue_count=message.dequeue_count,
        )  # fmt: skip
        if succeeded:
            await lease.delete()
        elif self._poison is None:
            await lease.set_visibility(PARK_SECONDS)
        elif message.dequeue_count >= max_count:
            await self._move_to_poison(message, lease)
        else:
            await lease.set_visibility(self.options.visibility_timeout)

    async def _move_to_poison(self, message: Any, lease: Lease) -> None:
        assert self._poison is not None and self.poison_name is not None
        log.warning(
            "Message has reached MaxDequeueCount of %d. Moving message to queue '%s'. message_id=%s",
            self.options.max_dequeue_count, self.poison_name, message.id,
        )  # fmt: skip
        try:
            await self._poison.send_message(message.content or "")
        except ResourceNotFoundError:
            with contextlib.suppress(ResourceExistsError):
                await self._poison.create_queue()
            await self._poison.send_message(message.content or "")
        await lease.delete()
        self._notify_other(self.poison_name)

    def _storage_warning(self, action: str, error: AzureError) -> None:
        now = time.monotonic()
        if now - self._last_warning < STORAGE_WARNING_INTERVAL:
            return
        self._last_warning = now
        status = getattr(error, "status_code", None)
        log.warning(
            "queue %s: %s failed (%s%s); retrying", self.queue_name, action, type(error).__name__,
            f" {status}" if status else "",
        )  # fmt: skip
