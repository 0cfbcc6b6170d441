"""Queue-trigger semantics of the runner against Azurite, with the test host app.

The app's host.json: batchSize 8, newBatchThreshold 4, maxPollingInterval 0.5 s,
visibilityTimeout 1 s, maxDequeueCount 3, base64. Runners lease messages for 2-3 s.
"""
from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
import requests

from tests.support.wait import wait_until

from .conftest import HOST_APP, Records, host_app_env, token

pytestmark = pytest.mark.e2e


def test_a_message_runs_once_with_its_metadata_and_is_deleted(host_app, queues):
    body = f"hello {token()}"
    message_id = queues.send(host_app.names["OK_QUEUE"], body)
    host_app.records.wait_for(lambda rs: any(r["body"] == body for r in rs))
    [record] = host_app.records.where("succeeds", body)
    assert record["id"] == message_id and record["dequeue_count"] == 1 and record["pop_receipt"]
    inserted = datetime.fromisoformat(record["insertion_time"])
    assert datetime.fromisoformat(record["expiration_time"]) > inserted
    assert datetime.fromisoformat(record["time_next_visible"]) > inserted
    wait_until(lambda: queues.count(host_app.names["OK_QUEUE"]) == 0)


def test_failures_retry_after_the_visibility_timeout_then_go_to_the_poison_queue(host_app, queues):
    body = f"doomed {token()}"
    queues.send(host_app.names["FAIL_QUEUE"], body)
    records = host_app.records.wait_for(
        lambda rs: any(r["function"] == "failed_poison" and r["body"] == body for r in rs)
    )
    attempts = [r for r in records if r["function"] == "always_fails" and r["body"] == body]
    assert [a["dequeue_count"] for a in attempts] == [1, 2, 3]  # maxDequeueCount 3
    gaps = [b["t"] - a["t"] for a, b in zip(attempts, attempts[1:])]
    assert all(gap >= 0.9 for gap in gaps), gaps  # visibilityTimeout 1 s
    [poisoned] = [r for r in records if r["function"] == "failed_poison" and r["body"] == body]
    assert poisoned["dequeue_count"] == 1 and poisoned["id"] != attempts[0]["id"]  # a new message, same text
    assert poisoned["t"] - attempts[-1]["t"] < 1.5  # the poison listener is woken at once
    wait_until(lambda: queues.count(host_app.names["FAIL_QUEUE"]) == 0)
    assert "Message has reached MaxDequeueCount of 3. Moving message to queue" in host_app.runner.log()


def test_text_that_is_not_base64_goes_to_the_poison_queue_without_running(host_app, queues):
    queue = host_app.names["OK_QUEUE"]
    text = '{"plain": "json, not base64"}'
    message_id = queues.send_raw(queue, text)
    wait_until(lambda: queues.peek(queue + "-poison") == [text])
    assert queues.count(queue) == 0
    assert not [r for r in host_app.records.all() if r["id"] == message_id]
    assert re.search(rf"Message decoding has failed!.*message_id={message_id}", host_app.runner.log())
    # The listener carries on with well-formed messages.
    body = f"after {token()}"
    queues.send(queue, body)
    host_app.records.wait_for(lambda rs: any(r["body"] == body for r in rs))


def test_a_long_run_keeps_its_lease_and_runs_once(host_app, queues):
    queue = host_app.names["SLOW_QUEUE"]
    message_id = queues.send(queue, "5")  # five seconds, the runner's lease is 2 s
    host_app.records.wait_for(lambda rs: any(r["id"] == message_id for r in rs))
    for _ in range(3):  # well past the first lease: still invisible
        time.sleep(1.2)
        assert queues.peek(queue) == []
    records = host_app.records.wait_for(
        lambda rs: any(r["function"] == "slow_done" and r["id"] == message_id for r in rs), timeout=15
    )
    starts = [r for r in records if r["function"] == "slow_start" and r["id"] == message_id]
    assert len(starts) == 1 and starts[0]["dequeue_count"] == 1
    wait_until(lambda: queues.count(queue) == 0)
    assert "lease lost" not in host_app.runner.log()


def test_sigterm_lets_running_invocations_finish_then_exits_0(azurite, queues, start_runner, tmp_path):
    env, names = host_app_env(azurite.connection_string, tmp_path / "records.jsonl")
    records = Records(tmp_path / "records.jsonl")
    runner = start_runner(HOST_APP, env, "--lease-seconds", "3")
    message_id = queues.send(names["SLOW_QUEUE"], "2")
    records.wait_for(lambda rs: any(r["function"] == "slow_start" for r in rs))
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(requests.get, runner.url("/api/sleep?s=1.5"), timeout=30)
        time.sleep(0.3)
        started = time.monotonic()
        assert runner.stop() == 0
        assert in_flight.result().status_code == 200  # the HTTP request in flight finished too
    assert 1.0 < time.monotonic() - started < 10
    assert [r["id"] for r in records.where("slow_done")] == [message_id]
    assert queues.count(names["SLOW_QUEUE"]) == 0  # finished, so deleted before the exit


def test_the_stop_is_bounded_and_releases_what_still_runs(azurite, queues, start_runner, tmp_path):
    env, names = host_app_env(azurite.connection_string, tmp_path / "records.jsonl")
    records = Records(tmp_path / "records.jsonl")
    runner = start_runner(HOST_APP, env, "--lease-seconds", "30", "--shutdown-timeout", "1")
    queues.send(names["SLOW_QUEUE"], "6")
    records.wait_for(lambda rs: any(r["function"] == "slow_start" for r in rs))
    started = time.monotonic()
    assert runner.stop() == 0
    assert time.monotonic() - started < 5
    assert records.where("slow_done") == []
    # Released at once rather than after the 30 s lease: visible to the next runner now.
    wait_until(lambda: queues.peek(names["SLOW_QUEUE"]) == ["Ng=="], timeout=3)
    assert "1 invocation(s) unfinished" in runner.log()


def test_a_killed_runners_messages_are_finished_by_the_next_one(azurite, queues, start_runner, tmp_path):
    env, names = host_app_env(azurite.connection_string, tmp_path / "records.jsonl")
    records = Records(tmp_path / "records.jsonl")
    first = start_runner(HOST_APP, env, "--lease-seconds", "3")
    ids = {queues.send(names["SLOW_QUEUE"], "2.5") for _ in range(3)}
    records.wait_for(lambda rs: {r["id"] for r in rs if r["function"] == "slow_start"} == ids)
    first.kill()  # SIGKILL mid-work: no clean-up, leases simply lapse
    assert records.where("slow_done") == []
    killed_at = time.monotonic()
    start_runner(HOST_APP, env, "--lease-seconds", "3")
    done = records.wait_for(lambda rs: {r["id"] for r in rs if r["function"] == "slow_done"} == ids, timeout=30)
    assert time.monotonic() - killed_at < 15
    second_starts = [r for r in done if r["function"] == "slow_start" and r["dequeue_count"] == 2]
    assert {r["id"] for r in second_starts} == ids
    wait_until(lambda: queues.count(names["SLOW_QUEUE"]) == 0)


def test_workers_share_the_port_and_the_queues_without_running_a_message_twice(azurite, queues, start_runner, tmp_path):
    env, names = host_app_env(
        azurite.connection_string,
        tmp_path / "records.jsonl",
        AzureFunctionsJobHost__extensions__queues__batchSize="1",
        AzureFunctionsJobHost__extensions__queues__newBatchThreshold="0",
    )
    records = Records(tmp_path / "records.jsonl")
    runner = start_runner(HOST_APP, env, "--workers", "2", "--lease-seconds", "2")
    wait_until(lambda: runner.log().count("runner ready") == 2, timeout=30)
    ids = {queues.send(names["SLOW_QUEUE"], "1.5") for _ in range(6)}
    done = records.wait_for(lambda rs: {r["id"] for r in rs if r["function"] == "slow_done"} == ids, timeout=30)
    starts = [r for r in done if r["function"] == "slow_start"]
    assert sorted(r["id"] for r in starts) == sorted(ids)  # each message ran exactly once
    assert len({r["pid"] for r in starts}) == 2  # both workers took messages (batch size 1)
    assert requests_ok(runner, 20)
    assert runner.stop() == 0


def requests_ok(runner, count: int) -> bool:
    return all(requests.get(runner.url("/api/echo/abc"), timeout=10).status_code == 200 for _ in range(count))


def test_a_message_past_max_dequeue_count_moves_to_poison_without_running(azurite, queues, start_runner, tmp_path):
    env, names = host_app_env(azurite.connection_string, tmp_path / "records.jsonl")
    records = Records(tmp_path / "records.jsonl")
    queue = names["OK_QUEUE"]
    message_id = queues.send(queue, "crashed three times")
    client = queues.client(queue)
    for _ in range(3):  # three receivers that died mid-run (maxDequeueCount is 3)
        [message] = list(client.receive_messages(max_messages=1, visibility_timeout=30))
        client.update_message(message, visibility_timeout=0)
    start_runner(HOST_APP, env, "--lease-seconds", "3")
    wait_until(lambda: queues.peek(queue + "-poison") == ["Y3Jhc2hlZCB0aHJlZSB0aW1lcw=="])
    assert queues.count(queue) == 0
    time.sleep(0.3)
    assert [r for r in records.all() if r["id"] == message_id] == []
