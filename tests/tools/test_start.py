"""``make start`` (python -m tools.start): Azurite + the app, ready, Ctrl-C, restart.

Needs the default Azurite ports 10000-10002 free (skipped otherwise, e.g. while a
developer's `make start` runs); the app gets a free port and the data a temporary folder.
"""
from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.support.wait import wait_until
from tools.azurite import DEFAULT_PORTS, free_port, port_open
from tools.start import ensure_local_settings

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e
PHOTO = ROOT / "tests" / "fixtures" / "photos" / "rocket.jpg"


class Start:
    """One ``python -m tools.start`` in its own process group, output collected."""

    def __init__(self, port: int, data_dir: Path) -> None:
        settings = ("TAGGING_", "AzureWebJobs", "AzureFunctionsJobHost")
        env = {k: v for k, v in os.environ.items() if not k.startswith(settings)}
        env["AzureWebJobsStorage"] = "UseDevelopmentStorage=true"  # wins over a developer's local.settings.json
        env["PYTHONUNBUFFERED"] = "1"
        command = [sys.executable, "-m", "tools.start", "--port", str(port), "--data-dir", str(data_dir)]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, start_new_session=True)  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if text in line:
                return line
        raise AssertionError(f"{text!r} not printed:\n{''.join(self.output)}")

    def ctrl_c(self, timeout: float = 30) -> int:
        """SIGINT to the whole process group, as a terminal's Ctrl-C does."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout)

    def ensure_stopped(self) -> None:
        """Ctrl-C (so Azurite is stopped too), SIGKILL as a last resort."""
        if self.process.poll() is None:
            try:
                self.ctrl_c(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


@pytest.mark.skipif(shutil.which("func") is not None, reason="Core Tools is installed: make start would use it")
def test_make_start_serves_the_app_stops_on_ctrl_c_and_keeps_data(tmp_path):
    if any(port_open(port) for port in DEFAULT_PORTS):
        pytest.skip("ports 10000-10002 are in use (a developer's Azurite?)")
    port = free_port()
    data_dir = tmp_path / "azurite"
    headers = {"X-MS-CLIENT-PRINCIPAL-ID": "start-test"}
    settings = ROOT / "local.settings.json"
    fresh = not settings.exists()  # a fresh clone: make start creates it (removed again below)

    first = Start(port, data_dir)
    try:
        if fresh:
            first.wait_for("Created local.settings.json from local.settings.json.example")
        assert f"http://127.0.0.1:{port}/api" in first.wait_for("Ready in")
        assert f"http://127.0.0.1:{port}/api/images" in first.wait_for("curl -F file=@")
        with PHOTO.open("rb") as photo:
            uploaded = requests.post(f"http://127.0.0.1:{port}/api/images", headers=headers,
                                     files={"file": ("rocket.jpg", photo, "image/jpeg")}, timeout=30)  # fmt: skip
        image_id = uploaded.json()["images"][0]["id"]
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/api/images/{image_id}", headers=headers,
                                        timeout=10).json()["status"] == "tagged", timeout=30)  # fmt: skip
        assert first.ctrl_c() == 0
    finally:
        first.ensure_stopped()
    assert "Stopped." in "".join(first.output)
    assert not port_open(port) and not any(port_open(p) for p in DEFAULT_PORTS)

    second = Start(port, data_dir)
    try:
        second.wait_for("Ready in")
        listed = requests.get(f"http://127.0.0.1:{port}/api/images", headers=headers, timeout=10).json()
        assert [(i["id"], i["status"]) for i in listed["images"]] == [(image_id, "tagged")]
        assert second.ctrl_c() == 0
    finally:
        second.ensure_stopped()
        if fresh:
            settings.unlink(missing_ok=True)


def test_a_fresh_clone_gets_local_settings_json_copied_from_the_example(tmp_path, capsys):
    """The runner reads only local.settings.json (as the host reads only app settings):
    make start creates it once, as the README's `cp` would, and says so."""
    example = tmp_path / "local.settings.json.example"
    example.write_text('{"IsEncrypted": false, "Values": {"TAGGING_QUEUE": "tag-requests"}}\n')
    assert ensure_local_settings(tmp_path) is True
    assert (tmp_path / "local.settings.json").read_text() == example.read_text()
    said = capsys.readouterr().out
    assert "Created local.settings.json from local.settings.json.example" in said
    (tmp_path / "local.settings.json").write_text('{"Values": {"TAGGING_QUEUE": "mine"}}')
    assert ensure_local_settings(tmp_path) is False  # an existing file is never touched
    assert "mine" in (tmp_path / "local.settings.json").read_text()
    assert capsys.readouterr().out == ""


#: The runner's stop, storage gone meanwhile: polling abandoned after 5 s, each lock or
#: lease release bounded to 5 s, no invocation running; with ample room for a loaded machine.
STOP_BOUND_SECONDS = 60


def _describe(pid: int) -> str:
    """A process's command line and state, for a failure message."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        state = Path(f"/proc/{pid}/status").read_text().split("State:", 1)[1].splitlines()[0].strip()
        parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
    except OSError:
        return "gone"
    return f"{command[:120]} [{state}, parent {parent}]"


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    from local_functions_host.lifeline import process_start_time

    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return process_start_time(pid) is not None and state != "Z"


@pytest.mark.skipif(shutil.which("func") is not None, reason="Core Tools is installed: make start would use it")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_make_start_killed_with_sigkill_leaves_no_azurite_nor_runner(tmp_path):
    """SIGKILL runs no clean-up in the launcher: the kernel's parent-death signal stops
    Azurite and the runner (and the runner its workers); the runner also stops by itself
    once its parent is gone. Its stop is graceful and bounded even with Azurite going away
    at the same time: the kill comes once the runner holds its timer's singleton lock, so
    every run takes the slowest path (releasing that lock against storage that is gone)."""
    if any(port_open(port) for port in DEFAULT_PORTS):
        pytest.skip("ports 10000-10002 are in use (a developer's Azurite?)")
    port = free_port()
    start = Start(port, tmp_path / "azurite")
    try:
        start.wait_for("Ready in")
        start.wait_for("holds the singleton lock")
        before_kill = len(start.output)
        descendants = _children(start.process.pid)
        pid_file = (tmp_path / "azurite" / "azurite.pid").read_text().split()
        azurite_pid = int(pid_file[0])
        assert azurite_pid in descendants and len(descendants) >= 2  # Azurite, the runner (and node's own)
        os.kill(start.process.pid, signal.SIGKILL)  # the launcher only, not its group
        start.process.wait(10)
        # SIGTERM starts the runner's graceful stop, bounded by its --shutdown-timeout (30 s)
        # for running invocations and open connections, while Azurite is going away too.
        try:
            wait_until(lambda: not any(_alive(pid) for pid in descendants), timeout=STOP_BOUND_SECONDS)
        except AssertionError:
            survivors = {pid: _describe(pid) for pid in descendants if _alive(pid)}
            said = "".join(start.output[before_kill:])
            raise AssertionError(f"still running {STOP_BOUND_SECONDS} s after SIGKILL of make start: {survivors}\n"
                                 f"output since the kill:\n{said}") from None  # fmt: skip
        assert not port_open(port) and not any(port_open(p) for p in DEFAULT_PORTS)
        start.reader.join(10)  # everything they wrote, up to the end of the output
        said = "".join(start.output[before_kill:])
        assert "stopping: no new messages or connections" in said and "INFO local_functions_host: stopped" in said
    finally:
        for pid in _children(start.process.pid) | ({azurite_pid} if "azurite_pid" in locals() else set()):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        start.ensure_stopped()


@pytest.mark.skipif(shutil.which("func") is not None, reason="Core Tools is installed: make start would use it")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux-only")
def test_make_start_takes_over_an_azurite_an_earlier_start_left_running(tmp_path):
    """An Azurite whose starter is gone (the pid file names it, by pid and start time)
    is stopped and replaced rather than reused."""
    from tools.azurite import Azurite, leftover

    if any(port_open(port) for port in DEFAULT_PORTS):
        pytest.skip("ports 10000-10002 are in use (a developer's Azurite?)")
    data_dir = tmp_path / "azurite"
    # Started by "an earlier make start" (here the test process, which outlives it).
    earlier = Azurite.start(ports=DEFAULT_PORTS, location=data_dir)
    start = Start(free_port(), data_dir)
    try:
        assert leftover(data_dir) == earlier.process.pid
        said = start.wait_for("Stopping the Azurite an earlier make start left running")
        assert f"pid {earlier.process.pid}" in said
        start.wait_for("Ready in")
        assert earlier.process.wait(10) is not None
        assert leftover(data_dir) not in (None, earlier.process.pid)  # the new one
        assert start.ctrl_c() == 0
        assert not any(port_open(p) for p in DEFAULT_PORTS) and leftover(data_dir) is None
    finally:
        start.ensure_stopped()
        earlier.stop()
