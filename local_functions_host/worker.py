"""One runner process: index the app, serve HTTP, poll the queues, stop gracefully.

SIGINT/SIGTERM stop polling and accepting connections, let running invocations
finish for up to ``shutdown_timeout`` seconds (leases of the ones still running are
released so the messages run again elsewhere), then exit 0. A second signal exits
at once. With ``parent_pid`` (make start and the supervisor pass their own pid), the
worker also stops so when that process is no longer its parent: the parent-death
signal (:mod:`.lifeline`) is the fast path, this check the one that cannot be lost.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from . import logsetup
from .hostconfig import HostConfig, load_host_config
from .http_server import READ_LINE_BYTES, HttpHost, describe
from .indexing import (
    AppIndexError,
    HttpFunction,
    IndexedFunction,
    QueueFunction,
    TimerFunction,
    index_functions,
    load_app,
)
from .invoker import Invoker, thread_count
from .queue_listener import LEASE_SECONDS, ClientPool, QueueListener
from .timer_listener import BlobPool, TimerListener, host_id

log = logging.getLogger(__package__)
THREAD_PREFIX = "function"
POLL_STOP_SECONDS = 5.0  # a receive in progress when stopping is abandoned after this
PARENT_CHECK_SECONDS = 1.0


@dataclass
class WorkerOptions:
    app_dir: Path
    host: str = "127.0.0.1"
    port: int = 7071
    listen_fd: int | None = None  # a listening socket inherited from the supervisor
    lease_seconds: int = LEASE_SECONDS
    shutdown_timeout: float = 30.0  # seconds
    index: int | None = None  # worker number under the supervisor
    parent_pid: int | None = None  # stop when this process is no longer the parent


class StartError(RuntimeError):
    """The runner cannot start; the message says what to do."""


def run_worker(options: WorkerOptions) -> int:
    """Run until stopped; returns the exit code."""
    try:
        code = asyncio.run(_serve(options))
    except StartError as error:
        log.error("%s", error)
        return 2
    busy = [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX) and t.is_alive()]
    if busy:
        time.sleep(0.2)  # idle pool threads are on their way out
        busy = [t for t in busy if t.is_alive()]
    logging.shutdown()
    if busy:
        # Threads still running user code would block interpreter exit.
        os._exit(code)
    return code


async def _serve(options: WorkerOptions) -> int:
    try:
        config = load_host_config(options.app_dir)
    except ValueError as error:
        raise StartError(f"host.json: {error}") from None
    logsetup.configure(config.log_levels, options.index)
    try:
        app = load_app(options.app_dir)
    except AppIndexError as error:
        raise StartError(str(error)) from None
    except Exception:
        log.exception("importing the app failed")
        raise StartError("the app could not be imported (see the traceback above)") from None
    try:
        indexed = index_functions(app)
        threads = thread_count()
    except (ValueError, RuntimeError) as error:
        raise StartError(str(error)) from None
    functions = indexed.functions
    executor = ThreadPoolExecutor(threads, thread_name_prefix=THREAD_PREFIX)
    invoker = Invoker(executor, options.app_dir)
    http = HttpHost(functions, config.route_prefix, invoker, errors=indexed.errors)
    runner = web.AppRunner(http.application(), access_log=None, handle_signals=False,
                           shutdown_timeout=options.shutdown_timeout,
                           max_line_size=READ_LINE_BYTES)  # fmt: skip
    await runner.setup()
    await _start_site(runner, options)

    clients = ClientPool()
    listeners: list[QueueListener] = []

    def notify(queue_name: str) -> None:
        for listener in listeners:
            if listener.queue_name == queue_name:
                listener.notify()

    for function in functions:
        if isinstance(function, QueueFunction):
            listeners.append(QueueListener(function, config.queues, invoker, clients, notify, options.lease_seconds))
    blobs = BlobPool()
    timers = [
        TimerListener(f, invoker, blobs.service(f.connection_string), host_id(options.app_dir), config.singleton)
        for f in functions if isinstance(f, TimerFunction)
    ]  # fmt: skip
    pollers: list[QueueListener | TimerListener] = [*listeners, *timers]
    polling = [asyncio.create_task(poller.run()) for poller in pollers]
    stop = _install_signal_handlers()
    watching = asyncio.create_task(_watch_parent(options.parent_pid, stop)) if options.parent_pid else None
    _announce(functions, config, options, threads, indexed.errors)

    await stop.wait()
    if watching is not None:
        watching.cancel()
    log.info("stopping: no new messages or connections; waiting up to %.0f s for running invocations",
             options.shutdown_timeout)  # fmt: skip
    for poller in pollers:
        poller.stop_polling()
    if polling:
        _, late = await asyncio.wait(polling, timeout=POLL_STOP_SECONDS)
        for task in late:
            task.cancel()
    drained, _ = await asyncio.gather(
        asyncio.gather(*(poller.drain(options.shutdown_timeout) for poller in pollers)),
        runner.cleanup(),
    )
    await clients.close()
    await blobs.close()
    abandoned = max(sum(drained), len(invoker.running))  # the same invocations, counted twice
    if abandoned:
        log.warning("stopped with %d invocation(s) unfinished; their queue messages run again", abandoned)
    else:
        log.info("stopped")
    executor.shutdown(wait=False, cancel_futures=True)
    return 0


async def _start_site(runner: web.AppRunner, options: WorkerOptions) -> None:
    try:
        if options.listen_fd is not None:
            site: web.BaseSite = web.SockSite(runner, socket.socket(fileno=options.listen_fd))
        else:
            site = web.TCPSite(runner, options.host, options.port, backlog=1024)
        await site.start()
    except OSError as error:
        raise StartError(
            f"cannot listen on {options.host}:{options.port} ({error.strerror or error}); "
            "stop what uses the port or pass --port"
        ) from None


def _install_signal_handlers() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signalled = False  # a second *signal* exits at once (a stop for another reason does not count)

    def on_signal(signum: int) -> None:
        nonlocal signalled
        if signalled:
            log.warning("second %s: exiting now", signal.Signals(signum).name)
            logging.shutdown()
            os._exit(1)
        signalled = True
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    return stop


async def _watch_parent(parent_pid: int, stop: asyncio.Event) -> None:
    """Set ``stop`` once ``parent_pid`` is no longer this process's parent (it died, and
    the process was re-parented), checking every ``PARENT_CHECK_SECONDS``."""
    while os.getppid() == parent_pid:
        await asyncio.sleep(PARENT_CHECK_SECONDS)
    if not stop.is_set():
        log.warning("parent process %d is gone: stopping", parent_pid)
        stop.set()


def _announce(
    functions: list[IndexedFunction], config: HostConfig, options: WorkerOptions, threads: int,
    errors: dict[str, str] | None = None,
) -> None:  # fmt: skip
    shown = "127.0.0.1" if options.host in ("0.0.0.0", "::", "") else options.host
    base = f"http://{shown}:{options.port}"
    if options.index in (None, 0):
        lines = ["Functions:"]
        for function in functions:
            info = describe(function, config.route_prefix)
            if isinstance(function, HttpFunction):
                methods = ",".join(info["methods"] or ["*"])
                lines.append(f"    {function.name}: [{methods}] {base}{info['route']}")
            elif isinstance(function, TimerFunction):
                lines.append(f"    {function.name}: timerTrigger {info['schedule']}")
            else:
                lines.append(f"    {function.name}: queueTrigger {info['queueName']}")
        for name in errors or {}:
            lines.append(f"    {name}: in error (not running; see the error below)")
        print("\n".join(lines), file=sys.stderr, flush=True)
    for name, error in (errors or {}).items():
        # The host's wording (ScriptHost: "The '{functionName}' function is in error: {errorMessage}").
        log.error("The '%s' function is in error: %s", name, error)
    queues = sum(isinstance(f, QueueFunction) for f in functions)
    timers = sum(isinstance(f, TimerFunction) for f in functions)
    log.info("runner ready on %s (pid %d, %d queue listener(s), %d timer(s), %d threads)",
             base, os.getpid(), queues, timers, threads)  # fmt: skip
