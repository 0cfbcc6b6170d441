"""Progress bars on stderr (tqdm): one overall bar, and one per file being uploaded,
in as many lines as files upload at once. Disabled, everything here does nothing."""
from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm


class _Quiet:
    def update(self, count: int = 1) -> None:
        pass

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


class Progress:
    def __init__(self, enabled: bool, slots: int) -> None:
        self.enabled = enabled
        self._free = list(range(slots, 0, -1))  # line 0 is the overall bar
        self._lock = threading.Lock()

    def overall(self, total: int, what: str) -> tqdm | _Quiet:
        if not self.enabled:
            return _Quiet()
        return tqdm(total=total, desc=what, unit="file", position=0, leave=True, file=sys.stderr, dynamic_ncols=True)

    @contextmanager
    def file(self, name: str, size: int) -> Iterator[tqdm | _Quiet]:
        if not self.enabled:
            yield _Quiet()
            return
        with self._lock:
            slot = self._free.pop()
        label = name if len(name) <= 24 else name[:21] + "..."
        bar = tqdm(total=size, desc=label, unit="B", unit_scale=True, unit_divisor=1024, position=slot,
                   leave=False, file=sys.stderr, dynamic_ncols=True, miniters=1, mininterval=0.05)  # fmt: skip
        try:
            yield bar
        finally:
            bar.refresh()  # the final count, even if the last update was throttled
            bar.close()
            with self._lock:
                self._free.append(slot)

    def write(self, line: str) -> None:
        """A whole line on stdout (upload threads print concurrently) that does not
        tear the bars."""
        with self._lock:
            if self.enabled:
                tqdm.write(line, file=sys.stdout)
            else:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
