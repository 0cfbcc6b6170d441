"""``python -m local_functions_host``: serve a Python v2 function app like ``func start``.

Reads ``<app-dir>/local.settings.json`` (or ``--settings-file``; never the
``.example``) into the environment, where existing variables win, and
``<app-dir>/host.json``; then runs one worker process, or a supervisor with
``--workers N`` of them.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .appsettings import EXAMPLE_FILE, SettingsFileError, apply_values, find_settings_file, load_local_settings
from .queue_listener import LEASE_SECONDS
from .supervisor import run_supervisor
from .worker import WorkerOptions, run_worker

DEFAULT_PORT = 7071
WORKERS_SETTING = "TAGGING_RUNNER_WORKERS"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m {__package__}", description=__doc__.split("\n\n")[0])
    p.add_argument("--app-dir", default=None,
                   help="folder with function_app.py and host.json (default: current folder)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None,
                   help=f"HTTP port (default: Host.LocalHttpPort in local.settings.json, else {DEFAULT_PORT})")
    p.add_argument("--workers", type=int, default=None,
                   help=f"worker processes sharing the port and the queues (default: {WORKERS_SETTING} or 1)")
    p.add_argument("--settings-file", default=None,
                   help="settings file to read instead of <app-dir>/local.settings.json")
    p.add_argument("--lease-seconds", type=int, default=LEASE_SECONDS,
                   help=f"how long a received queue message stays invisible between renewals (default {LEASE_SECONDS})")
    p.add_argument("--shutdown-timeout", type=float, default=30.0,
                   help="seconds a stop waits for running invocations (default 30)")
    p.add_argument("--parent-pid", type=int, default=None,
                   help="stop gracefully once this process is no longer the runner's parent (make start passes its pid)")
    p.add_argument("--listen-fd", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    return p  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    app_dir = Path(args.app_dir or os.getcwd()).resolve()
    if not app_dir.is_dir():
        print(f"error: --app-dir {app_dir} is not a folder", file=sys.stderr)
        return 2
    try:
        settings = load_local_settings(find_settings_file(app_dir, args.settings_file))
    except SettingsFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    applied = apply_values(settings.values)
    supervised = args.listen_fd is not None
    if settings.path is not None and not supervised:
        kept = len(settings.values) - len(applied)
        print(f"Settings: {settings.path.name} ({len(applied)} applied, {kept} already set in the environment)",
              file=sys.stderr)  # fmt: skip
    elif not supervised:
        hint = " (cp local.settings.json.example local.settings.json)" if (app_dir / EXAMPLE_FILE).is_file() else ""
        print(f"Settings: no local.settings.json in {app_dir}; the environment only{hint}", file=sys.stderr)
    workers = args.workers if args.workers is not None else _int_setting(WORKERS_SETTING, 1)
    if workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    # The host runs the worker from the app folder, with the app folder importable.
    sys.path[:] = [os.path.abspath(p) if p in ("", ".") else p for p in sys.path]
    os.chdir(app_dir)
    options = WorkerOptions(
        app_dir=app_dir,
        host=args.host,
        port=args.port or settings.local_http_port or DEFAULT_PORT,
        listen_fd=args.listen_fd,
        lease_seconds=args.lease_seconds,
        shutdown_timeout=args.shutdown_timeout,
        index=args.worker_index,
        parent_pid=args.parent_pid,
    )
    if workers > 1 and not supervised:
        child_args = ["--app-dir", str(app_dir), "--host", options.host, "--port", str(options.port),
                      "--lease-seconds", str(options.lease_seconds),
                      "--shutdown-timeout", str(options.shutdown_timeout)]  # fmt: skip
        if args.settings_file:
            child_args += ["--settings-file", str(Path(args.settings_file).resolve())]
        return run_supervisor(options, workers, child_args)
    return run_worker(options)


def _int_setting(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        print(f"warning: {name}={raw!r} is not a number; using {default}", file=sys.stderr)
        return default
