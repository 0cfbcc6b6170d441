"""CLI tests: ``python -m tagging`` against the real app (runner + Azurite)."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

from tests.support.app_server import ROOT, start_app


@pytest.fixture(scope="session")
def cli_app(azurite):
    """The runner serving the real app with no default user: callers pass --user."""
    runner = start_app(azurite.connection_string, "cli", default_user="")
    yield runner
    runner.ensure_stopped()


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Result:
    """``python -m tagging ARGS`` in a subprocess, without the developer's TAGGING_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TAGGING_")}
    clean.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "tagging", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=timeout,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def cli(cli_app):
    """``cli(*args, user=...)``: the CLI as a subprocess against the test app."""

    def run(*args: str, user: str | None = "cli-user", env: dict[str, str] | None = None,
            timeout: float = 300) -> Result:  # fmt: skip
        base = {"TAGGING_URL": cli_app.base} | ({"TAGGING_USER": user} if user else {})
        return run_cli(*args, env=base | (env or {}), timeout=timeout)

    return run
