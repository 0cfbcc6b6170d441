"""``--parent-pid``: the runner stops gracefully by itself once its parent is gone,
without the parent-death signal (which make start and the supervisor also ask for)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import local_functions_host
from tests.support.wait import wait_until
from tools.azurite import PROJECT_ROOT, free_port, port_open

from .conftest import HOST_APP, host_app_env

# A parent that starts the runner as a plain child (no PR_SET_PDEATHSIG), prints its
# pid and waits to be killed.
PARENT = """
import os, subprocess, sys, time
command = [*sys.argv[1:], "--parent-pid", str(os.getpid())]
child = subprocess.Popen(command, stdout=sys.stderr, stderr=sys.stderr)
print(child.pid, flush=True)
time.sleep(3600)
"""


def test_the_runner_stops_gracefully_when_its_parent_dies_without_signalling_it(azurite, tmp_path):
    port = free_port()
    env, _ = host_app_env(azurite.connection_string, tmp_path / "records.jsonl")
    log_path = tmp_path / "runner.log"
    command = local_functions_host.command("--app-dir", str(HOST_APP), "--port", str(port))
    with open(log_path, "wb") as log:
        parent = subprocess.Popen([sys.executable, "-c", PARENT, *command], cwd=PROJECT_ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)  # fmt: skip
    assert parent.stdout is not None
    runner_pid = int(parent.stdout.readline())
    try:
        wait_until(lambda: port_open(port) or parent.poll() is not None, timeout=60)
        wait_until(lambda: "runner ready on" in log_path.read_text(errors="replace"), timeout=30)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        wait_until(lambda: not _alive(runner_pid), timeout=60)
        said = log_path.read_text(errors="replace")
        assert f"parent process {parent.pid} is gone: stopping" in said, said
        assert "INFO local_functions_host: stopped" in said, said
        assert not port_open(port)
    finally:
        if _alive(runner_pid):
            os.kill(runner_pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()


def _alive(pid: int) -> bool:
    """A live process (a zombie counts as gone; nobody here reaps the orphan)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
