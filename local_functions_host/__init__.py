"""A local stand-in for the Azure Functions host (Core Tools' ``func start``).

Hosts the project's ``FunctionApp`` as indexed by ``app.get_functions()``: HTTP
triggers on an aiohttp server, Storage queue triggers with ``host.json`` semantics and
timer triggers (NCRONTAB, one process at a time through a blob lease)
against Azurite or a real account. Run it with ``python -m local_functions_host``; see
``cli.py`` for the options. Nothing here is deployed: Azure runs the real host.

Modules: ``appsettings`` (local.settings.json, ``%NAME%`` expressions), ``hostconfig``
(host.json), ``indexing`` (functions from the app), ``routing`` (route templates),
``invoker`` (thread pool, invocation log), ``http_server``, ``queue_listener``,
``schedule`` (NCRONTAB and TimeSpan schedules), ``timer_listener`` (timer triggers),
``worker`` (one process), ``supervisor`` (``--workers N``), ``lifeline`` (children that
die with their parent), ``cli``.
"""
from __future__ import annotations

import sys


def command(*args: str) -> list[str]:
    """The command line that runs this package with ``args`` in a new process (this
    interpreter, ``-m`` this package's own name)."""
    return [sys.executable, "-m", __name__, *args]
