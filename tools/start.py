"""``make start``: Azurite and the app on http://127.0.0.1:7071, in the foreground.

Azurite (pinned in package.json) keeps its data in ``.azurite/`` on the default ports
10000-10002; an Azurite already answering there is reused (and left running). The app
runs with ``func start`` when Core Tools is on PATH, otherwise with the project's
local Functions host (``python -m local_functions_host``); both read ``local.settings.json``, created from
the example on the first start. Ctrl-C or SIGTERM stops what this started; if this
process is killed outright (SIGKILL), Azurite and the app get SIGTERM from the kernel
(``PR_SET_PDEATHSIG``, see :mod:`local_functions_host.lifeline`), and an Azurite an earlier start left
running anyway (its pid file in the data folder) is stopped and replaced.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import local_functions_host
from local_functions_host.lifeline import die_with_parent

from .azurite import DEFAULT_PORTS, PROJECT_ROOT, Azurite, leftover, port_open, stop_leftover

HOST = "127.0.0.1"
PORT = 7071
DATA_DIR = PROJECT_ROOT / ".azurite"
READY_TIMEOUT = 60.0  # seconds; Core Tools' first start can be slow
_SERVICES = ("Blob", "Queue", "Table")


class StartError(RuntimeError):
    """Nothing was left running; the message says what to do."""


def azurite_server(port: int) -> str | None:
    """The ``Server`` header when an Azurite answers on ``port``, else None."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/", timeout=2) as response:
            server = response.headers.get("Server", "")
    except urllib.error.HTTPError as error:  # Azurite answers 400 to a bare GET
        server = error.headers.get("Server", "")
    except (urllib.error.URLError, OSError):
        return None
    return server if server.startswith("Azurite") else None


def ensure_azurite(data_dir: Path = DATA_DIR) -> Azurite | None:
    """Start Azurite on the default ports with persistence in ``data_dir``; None when
    one already answers there (it is reused, and left running on exit)."""
    orphan = leftover(data_dir)
    if orphan is not None:
        # Started by an earlier make start that died without stopping it: take it over.
        print(f"Stopping the Azurite an earlier make start left running (pid {orphan}); starting a new one.",
              flush=True)  # fmt: skip
        stop_leftover(orphan)
        deadline = time.monotonic() + 10
        while any(port_open(port) for port in DEFAULT_PORTS) and time.monotonic() < deadline:
            time.sleep(0.05)
    busy = [port for port in DEFAULT_PORTS if port_open(port)]
    if busy:
        servers = [azurite_server(port) for port in DEFAULT_PORTS]
        if all(servers) and len(busy) == len(DEFAULT_PORTS):
            print(f"Reusing the Azurite already running on ports 10000-10002 ({servers[0]}); "
                  "its data location is whatever it was started with.", flush=True)  # fmt: skip
            return None
        names = ", ".join(f"{port} ({_SERVICES[DEFAULT_PORTS.index(port)].lower()})" for port in busy)
        raise StartError(
            f"port(s) {names} are in use by something that is not a complete Azurite; stop it "
            "(e.g. `ss -ltnp 'sport >= :10000 and sport <= :10002'` shows the process) and run make start again"
        )
    try:
        return Azurite.start(ports=DEFAULT_PORTS, location=data_dir, log_file=data_dir / "azurite.log")
    except (OSError, RuntimeError, TimeoutError) as error:
        raise StartError(f"Azurite did not start: {error} (log: {data_dir / 'azurite.log'})") from None


def serve_command(port: int) -> tuple[list[str], str]:
    """(command, label): Core Tools when installed, else the runner."""
    func = shutil.which("func")
    if func:
        return [func, "start", "--port", str(port)], "Core Tools (func start)"
    runner = local_functions_host.command("--app-dir", str(PROJECT_ROOT), "--host", HOST, "--port", str(port),
                                          "--parent-pid", str(os.getpid()))  # fmt: skip
    return runner, "the project's runner (Core Tools is not installed)"


def ensure_local_settings(root: Path = PROJECT_ROOT) -> bool:
    """Create ``local.settings.json`` from the example when it is missing (a fresh
    clone), as the README's ``cp`` step would, and say so; True when created. Core
    Tools and the runner read only ``local.settings.json``, as the host reads only the
    app settings in effect; an existing file is never touched."""
    settings, example = root / "local.settings.json", root / "local.settings.json.example"
    if settings.exists() or not example.is_file():
        return False
    shutil.copyfile(example, settings)
    print(f"Created local.settings.json from local.settings.json.example (first start); "
          f"edit {settings.name} to change settings.", flush=True)  # fmt: skip
    return True


def wait_ready(process: subprocess.Popen, port: int, timeout: float = READY_TIMEOUT) -> bool:
    """True once the host answers HTTP; False if it exited first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/admin/host/status", timeout=1):
                return True
        except urllib.error.HTTPError:
            return True  # it answers
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.start", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=PORT, help=f"HTTP port of the app (default {PORT})")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="Azurite's data folder (default .azurite/)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if port_open(args.port):
        print(f"error: port {args.port} is in use (another `make start` or `func start`?); stop it or pass --port",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        azurite = ensure_azurite(args.data_dir.resolve())
    except StartError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    ensure_local_settings()
    command, label = serve_command(args.port)
    env = dict(os.environ)
    if "AzureWebJobsStorage" in os.environ:
        print("Note: AzureWebJobsStorage is set in your environment and wins over local.settings.json.", flush=True)
    # Own session: Ctrl-C reaches this launcher only, which passes one SIGTERM on.
    app = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, start_new_session=True, preexec_fn=die_with_parent())
    stopping = {"flag": False}

    def on_signal(signum: int, _frame: object) -> None:
        if not stopping["flag"] and app.poll() is None:
            app.send_signal(signal.SIGTERM)
        stopping["flag"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if wait_ready(app, args.port):
            _banner(args.port, label, azurite, args.data_dir, time.perf_counter() - started)
        elif not stopping["flag"]:
            print(f"error: the app did not start (see its output above); exit code {app.poll()}", file=sys.stderr)
            if app.poll() is None:
                app.send_signal(signal.SIGTERM)
        code = app.wait()
    finally:
        if azurite is not None:
            azurite.stop()
    if stopping["flag"]:
        kept = f" Azurite data is kept in {_shown(args.data_dir)}." if azurite is not None else ""
        print(f"Stopped.{kept}", flush=True)
        return 0 if code in (0, -signal.SIGTERM) else code
    return code or 1


def _shown(path: Path) -> str:
    path = path.resolve()
    return f"{path.relative_to(PROJECT_ROOT)}/" if path.is_relative_to(PROJECT_ROOT) else str(path)


def _banner(port: int, label: str, azurite: Azurite | None, data_dir: Path, seconds: float) -> None:
    base = f"http://{HOST}:{port}"
    storage = f"Azurite on 10000-10002, data in {_shown(data_dir)}" if azurite is not None else "the running Azurite"
    sample = PROJECT_ROOT / "tests" / "fixtures" / "photos" / "chelsea.png"  # tagged "cat"
    photo = sample.relative_to(PROJECT_ROOT) if sample.exists() else "photo.jpg"
    print(
        f"\nReady in {seconds:.1f} s: {base}/api  (served by {label}; storage: {storage})\n"
        f"Web page: {base}/api/ui\n"
        f"Try:\n"
        f"  curl -F file=@{photo} {base}/api/images\n"
        f"  curl {base}/api/images\n"
        f"Ctrl-C stops the app{' and Azurite' if azurite is not None else ''}.\n",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
