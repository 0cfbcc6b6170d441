"""Fault tests: a private, persisted Azurite (so it can be stopped and restarted)
and the real app served by runner processes over real HTTP."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from tagging.cli.client import ApiClient
from tests.support.host_process import RunnerProcess, Runners, runner_env
from tools.azurite import PROJECT_ROOT, Azurite

USER = "faults"


@pytest.fixture(scope="module")
def storage_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("azurite-faults")


@pytest.fixture(scope="module")
def faulty_azurite(storage_dir) -> Iterator[Azurite]:
    instance = Azurite.start(location=storage_dir / "data", log_file=storage_dir / "azurite.log")
    yield instance
    instance.stop()


@pytest.fixture
def serve(faulty_azurite, tmp_path) -> Iterator[Callable[..., RunnerProcess]]:
    """Factory: serve(*args, **settings) starts the real app in a runner against the
    fault Azurite; every runner is stopped after the test."""
    runners = Runners(tmp_path)

    def start(*args: str, port: int | None = None, **settings: str) -> RunnerProcess:
        env = runner_env(faulty_azurite.connection_string, TAGGING_DEFAULT_USER=USER, **settings)
        return runners.start(PROJECT_ROOT, env, list(args), port=port)

    yield start
    runners.stop_all()


def all_images(base: str) -> dict[str, dict]:
    """Every image of the test user, by id."""
    return ApiClient(base).all_images()
