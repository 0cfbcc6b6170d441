"""QueueListener internals that the end-to-end tests cannot provoke on demand."""
from __future__ import annotations

import asyncio
import gc
from types import SimpleNamespace

import pytest

from local_functions_host.hostconfig import QueueOptions
from local_functions_host.indexing import QueueFunction
from local_functions_host.queue_listener import ClientPool, Lease, QueueListener


def test_a_message_that_comes_back_while_it_runs_has_its_pop_receipt_adopted_even_across_a_gc(azurite):
    """The adoption runs as its own task (it waits for a renewal in progress); the
    listener holds that task until it is done, since the event loop holds it weakly."""

    async def scenario() -> tuple[str, int, int]:
        clients = ClientPool()
        function = QueueFunction(name="f", arg_name="msg", handler=lambda msg: None, is_async=False,
                                 wants_context=False, queue_name="adopt-test",
                                 connection_string=azurite.connection_string)  # fmt: skip
        listener = QueueListener(function, QueueOptions(), invoker=None, clients=clients,  # type: ignore[arg-type]
                                 notify=lambda name: None)  # fmt: skip
        running = Lease(clients.queue(azurite.connection_string, "adopt-test"), "m1", "receipt-1", 30)
        listener._leases["m1"] = running
        async with running.lock:  # a renewal in progress: the adoption has to wait for it
            listener._dispatch(SimpleNamespace(id="m1", pop_receipt="receipt-2"))
            await asyncio.sleep(0)
            gc.collect()
            held = len(listener._side_tasks)
        assert await listener.drain(5) == 1  # waits for the adoption; the lease counts as still running
        left = len(listener._side_tasks)
        await clients.close()
        return running.pop_receipt, held, left

    receipt, held, left = asyncio.run(scenario())
    assert held == 1
    assert receipt == "receipt-2"
    assert left == 0


def test_lean_receive_and_delete_give_what_the_sdk_gives_and_its_errors(azurite):
    """The listener's per-message calls without the SDK pipeline: same message fields
    as the SDK reads, the same exceptions (404 -> ResourceNotFoundError, which the
    listener takes for a deleted message or a missing queue), and a signature the
    storage checks (a wrong key is refused)."""
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    from local_functions_host.queue_requests import LeanQueue

    text = 'a<b>&"c" \u00e9'

    async def scenario() -> None:
        clients = ClientPool()
        client = clients.queue(azurite.connection_string, "lean-test")
        lean = clients.lean(client)
        assert lean is not None
        try:
            await client.create_queue()
            await client.send_message(text)
            [peeked] = await _peek(client)
            [received] = await lean.receive(16, 30)
            assert (received.id, received.content, received.dequeue_count) == (peeked.id, text, 1)
            assert (received.inserted_on, received.expires_on) == (peeked.inserted_on, peeked.expires_on)
            assert received.next_visible_on > received.inserted_on
            assert await lean.receive(16, 30) == []  # invisible now
            await lean.delete(received.id, received.pop_receipt)
            assert await _peek(client) == []
            with pytest.raises(ResourceNotFoundError) as gone:
                await lean.delete(received.id, received.pop_receipt)
            assert gone.value.status_code == 404
            missing = clients.lean(clients.queue(azurite.connection_string, "lean-test-missing"))
            assert missing is not None
            with pytest.raises(ResourceNotFoundError):
                await missing.receive(1, 30)
            wrong_key = LeanQueue(clients._session, client.url, client.credential.account_name,  # type: ignore[arg-type]
                                  "d3Jvbmcta2V5")  # fmt: skip
            with pytest.raises(HttpResponseError) as refused:
                await wrong_key.receive(1, 30)
            assert refused.value.status_code == 403
        finally:
            await client.delete_queue()
            await clients.close()

    asyncio.run(scenario())


async def _peek(client) -> list:  # type: ignore[no-untyped-def]
    return list(await client.peek_messages(max_messages=32))
