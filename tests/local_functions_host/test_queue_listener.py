"""QueueListener internals that the end-to-end tests cannot provoke on demand."""
from __future__ import annotations

import asyncio
import gc
from types import SimpleNamespace

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
