"""``--workers N``: N runner processes sharing one listening socket and the queues.

The supervisor binds the port once (so a busy port fails clearly, and no stale
process can join the group), then starts N workers that inherit the socket and
each poll every queue; the storage queue's leases keep them from running the same
message twice. A worker that dies is restarted; one that dies within
``QUICK_EXIT_SECONDS`` of starting stops the whole group (it would fail again).
SIGINT/SIGTERM (or, with ``--parent-pid``, its parent gone) are passed on once to
every worker; the supervisor exits 0 when they all stopped cleanly.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field

from . import command as runner_command
from .lifeline import die_with_parent
from .worker import WorkerOptions

log = logging.getLogger(__name__)
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the folder holding this package
QUICK_EXIT_SECONDS = 10.0
POLL_SECONDS = 0.2


@dataclass
class _Child:
    index: int
    process: subprocess.Popen
    started: float = field(default_factory=time.monotonic)


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening, inheritable TCP socket."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def run_supervisor(options: WorkerOptions, workers: int, child_args: list[str]) -> int:
    """Start ``workers`` processes of ``python -m local_functions_host <child_args>``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s [supervisor] %(message)s")
    try:
        sock = listen(options.host, options.port)
    except OSError as error:
        log.error("cannot listen on %s:%d (%s); stop what uses the port or pass --port",
                  options.host, options.port, error.strerror or error)  # fmt: skip
        return 2
    stopping = {"flag": False}

    def on_signal(signum: int, _frame: object) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    def spawn(index: int) -> _Child:
        command = runner_command(*child_args, "--listen-fd", str(sock.fileno()), "--worker-index", str(index),
                                 "--parent-pid", str(os.getpid()))  # fmt: skip
        # Own session: a terminal's Ctrl-C reaches the supervisor only, which passes it on once.
        env = dict(os.environ)  # workers run from the app folder: keep this package importable
        env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        process = subprocess.Popen(
            command, pass_fds=(sock.fileno(),), start_new_session=True, env=env,
            preexec_fn=die_with_parent(),  # SIGTERM if the supervisor is killed outright
        )
        return _Child(index, process)

    children = [spawn(i) for i in range(workers)]
    log.info("started %d workers on %s:%d", workers, options.host, options.port)
    failed = False
    while not stopping["flag"]:
        time.sleep(POLL_SECONDS)
        if options.parent_pid is not None and os.getppid() != options.parent_pid:
            log.warning("parent process %d is gone: stopping", options.parent_pid)
            stopping["flag"] = True
        for position, child in enumerate(children):
            code = child.process.poll()
            if code is None or stopping["flag"]:
                continue
            if time.monotonic() - child.started < QUICK_EXIT_SECONDS:
                log.error("worker %d exited with code %s right after starting; stopping", child.index, code)
                failed = stopping["flag"] = True
                break
            log.warning("worker %d exited with code %s; starting a new one", child.index, code)
            children[position] = spawn(child.index)
    sock.close()
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + options.shutdown_timeout + 10
    codes = []
    for child in children:
        try:
            codes.append(child.process.wait(max(0.1, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            child.process.kill()
            codes.append(child.process.wait())
    log.info("all workers stopped")
    return 1 if failed or any(code != 0 for code in codes) else 0
