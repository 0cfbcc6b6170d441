"""The local Functions host (``python -m local_functions_host``) as a child process: for
tests, the benchmark and load runs."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import local_functions_host
from tools.azurite import PROJECT_ROOT, free_port

READY_TIMEOUT = 30.0  # seconds


def private_storage(prefix: str) -> dict[str, str]:
    """Settings giving one app its own queue, containers and tables on a shared Azurite.

    ``prefix``: lowercase letters and digits, starting with a letter (it starts queue,
    container and table names).
    """
    suffix = secrets.token_hex(4)
    table = prefix.capitalize() + suffix
    return {
        "TAGGING_QUEUE": f"{prefix}-{suffix}",
        "TAGGING_IMAGES_CONTAINER": f"{prefix}-images-{suffix}",
        "TAGGING_THUMBNAILS_CONTAINER": f"{prefix}-thumbs-{suffix}",
        "TAGGING_IMAGES_TABLE": f"{table}Images",
        "TAGGING_BATCHES_TABLE": f"{table}Batches",
        "TAGGING_TAG_INDEX_TABLE": f"{table}TagIndex",
        "TAGGING_FINGERPRINTS_TABLE": f"{table}Fingerprints",
        "TAGGING_IDEMPOTENCY_TABLE": f"{table}Idempotency",
        "TAGGING_SWEEP_STATE_TABLE": f"{table}SweepState",
    }


def runner_env(connection_string: str, **values: str) -> dict[str, str]:
    """This process's environment minus any app settings it carries, pointed at
    ``connection_string``, plus ``values``."""
    own = ("TAGGING_", "AzureWebJobs", "AzureFunctionsJobHost")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    env["AzureWebJobsStorage"] = connection_string
    env["PYTHONUNBUFFERED"] = "1"
    env.update(values)
    return env


class RunnerProcess:
    """A runner on a free port (or ``port``); its output goes to ``log_path``.

    Unless ``args`` name a ``--settings-file`` (or ``use_example`` is False), an app
    folder with a ``local.settings.json.example`` runs with that file, explicitly: tests
    and benchmarks get the committed settings (``env`` still wins), never a developer's
    own ``local.settings.json`` nor nothing on a fresh clone. The runner itself never
    falls back to the example."""

    def __init__(
        self, app_dir: Path, env: dict[str, str], args: list[str], log_path: Path, port: int | None = None,
        use_example: bool = True,
    ) -> None:
        example = Path(app_dir) / "local.settings.json.example"
        if use_example and "--settings-file" not in args and example.is_file():
            args = [*args, "--settings-file", str(example)]
        self.app_dir, self.env, self.args, self.log_path = app_dir, env, args, log_path
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, ready: bool = True) -> RunnerProcess:
        command = local_functions_host.command("--app-dir", str(self.app_dir), "--port", str(self.port), *self.args)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if ready:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until the runner answers ``/admin/host/status``; raise with its log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"runner exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url("/admin/host/status"), timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise TimeoutError(f"runner not ready within {timeout} s:\n{self.log()}")

    def url(self, path: str) -> str:
        return self.base + path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL the whole process group (workers included), no clean-up."""
        assert self.process is not None
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def ensure_stopped(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.stop(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


class Runners:
    """The runners one test starts, each logging to its own file in ``log_dir``; a
    fixture calls :meth:`stop_all` after the test."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[RunnerProcess] = []

    def start(
        self, app_dir: Path, env: dict[str, str], args: list[str], *, ready: bool = True, port: int | None = None,
        use_example: bool = True,
    ) -> RunnerProcess:  # fmt: skip
        """A new runner (started, and answering unless ``ready`` is False)."""
        log_path = self.log_dir / f"runner-{len(self.started)}.log"
        runner = RunnerProcess(app_dir, env, args, log_path, port=port, use_example=use_example)
        self.started.append(runner)
        return runner.start() if ready else runner

    def stop_all(self) -> None:
        for runner in self.started:
            runner.ensure_stopped()
