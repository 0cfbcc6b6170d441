"""RunnerProcess end-to-end fixtures: runner subprocesses on free ports against Azurite.

The session ``azurite`` fixture (tests/conftest.py) is reused; every runner gets its
own queue (and, for the real app, table and container) names, so nothing here
touches what the integration tests use on the same Azurite.
"""
from __future__ import annotations

import base64
import contextlib
import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.queue import QueueClient

from tests.support.host_process import RunnerProcess, Runners, runner_env

ROOT = Path(__file__).resolve().parents[2]
HOST_APP = Path(__file__).parent / "apps" / "hostapp"


@pytest.fixture
def start_runner(tmp_path: Path) -> Iterator[Callable[..., RunnerProcess]]:
    """Factory: ``start_runner(app_dir, env, *args)`` starts a runner and waits until it
    answers; every runner started is stopped after the test."""
    runners = Runners(tmp_path)

    def start(
        app_dir: Path, env: dict[str, str], *args: str, ready: bool = True, use_example: bool = True
    ) -> RunnerProcess:
        return runners.start(app_dir, env, list(args), ready=ready, use_example=use_example)

    yield start
    runners.stop_all()


def token() -> str:
    return secrets.token_hex(4)


class Records:
    """The JSON lines the host app's queue functions write."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def all(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def where(self, function: str, body: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.all() if r["function"] == function and (body is None or r["body"] == body)]

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 20.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            records = self.all()
            if predicate(records):
                return records
            time.sleep(0.05)
        raise AssertionError(f"condition not met within {timeout} s; records: {self.all()}")


class Queues:
    """Plain SDK access to the test queues (no encode/decode policy: raw text)."""

    def __init__(self, connection_string: str) -> None:
        self.connection_string = connection_string

    def client(self, name: str) -> QueueClient:
        return QueueClient.from_connection_string(self.connection_string, name)

    def send(self, name: str, body: bytes | str) -> str:
        """Send ``body`` base64-encoded, as the host expects; returns the message id."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        return self.send_raw(name, base64.b64encode(data).decode("ascii"))

    def send_raw(self, name: str, text: str) -> str:
        client = self.client(name)
        with contextlib.suppress(Exception):  # it exists already (or the send below says why not)
            client.create_queue()
        return client.send_message(text).id

    def peek(self, name: str) -> list[str]:
        try:
            return [m.content for m in self.client(name).peek_messages(max_messages=32)]
        except Exception:  # noqa: BLE001 - no such queue yet
            return []

    def count(self, name: str) -> int:
        """Approximate count, invisible messages included."""
        try:
            return self.client(name).get_queue_properties().approximate_message_count
        except Exception:  # noqa: BLE001 - no such queue yet
            return 0


@pytest.fixture(scope="session")
def queues(azurite) -> Queues:
    return Queues(azurite.connection_string)


class HostApp:
    """The test host app served by one runner for a whole test module."""

    def __init__(self, runner: RunnerProcess, names: dict[str, str], records: Records) -> None:
        self.runner, self.names, self.records = runner, names, records

    def url(self, path: str) -> str:
        return self.runner.url(path)


def host_app_env(connection_string: str, records: Path, **extra: str) -> tuple[dict[str, str], dict[str, str]]:
    """(environment, queue names) for a host app runner with fresh queues."""
    names = {"OK_QUEUE": f"ok-{token()}", "FAIL_QUEUE": f"fail-{token()}", "SLOW_QUEUE": f"slow-{token()}"}
    return runner_env(connection_string, RUNNER_TEST_RECORDS=str(records), **names, **extra), names


@pytest.fixture(scope="module")
def host_app(azurite, tmp_path_factory) -> Iterator[HostApp]:
    tmp = tmp_path_factory.mktemp("hostapp")
    env, names = host_app_env(azurite.connection_string, tmp / "records.jsonl")
    runner = RunnerProcess(HOST_APP, env, ["--lease-seconds", "2"], tmp / "runner.log").start()
    yield HostApp(runner, names, Records(tmp / "records.jsonl"))
    runner.ensure_stopped()
