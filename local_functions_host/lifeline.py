"""Children that die with their parent, and recognising a process we started earlier.

:func:`die_with_parent` is a ``preexec_fn`` for :class:`subprocess.Popen` (Linux): the
child asks the kernel for SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``),
so a launcher killed with SIGKILL, which runs no clean-up, still takes its children
with it. The setting survives ``exec`` (``/usr/bin/env node …`` included). Caveats:

- ``preexec_fn`` runs between fork and exec, where only async-signal-safe work is
  safe if the parent has other threads; everything (``ctypes``, libc's ``prctl``) is
  therefore resolved in the parent, at import, and the child only calls it.
- The signal follows the parent *thread* that forked: start children from a thread that
  lives as long as they should (the main thread, as ``make start`` and the tests do).
- A parent that died before ``prctl`` ran is caught by comparing ``getppid()``.

:func:`process_start_time` and :func:`is_same_process` let a pid file name a process
unambiguously (pid + start time, so a recycled pid is never mistaken for it).
"""
from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

PR_SET_PDEATHSIG = 1

try:  # resolved here, in the parent: the child must not import or look anything up
    import ctypes

    _prctl: Callable[..., int] | None = ctypes.CDLL("libc.so.6", use_errno=True).prctl
except (OSError, AttributeError):  # not Linux/glibc: children outlive a killed parent
    _prctl = None


def die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn``: SIGTERM to the child when the calling process dies."""
    parent = os.getpid()

    def preexec() -> None:
        if _prctl is not None:
            _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl: nobody will signal us
            os._exit(1)

    return preexec


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks after boot (``/proc/<pid>/stat`` field 22),
    or None when there is no such process (or no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    return int(stat.rsplit(")", 1)[1].split()[19])


def is_same_process(pid: int, start_time: int, command_part: str) -> bool:
    """True when ``pid`` is alive, started at ``start_time`` and its command line holds
    ``command_part``: the very process a pid file recorded, not a recycled pid."""
    if process_start_time(pid) != start_time:
        return False
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return False
    return command_part in command
