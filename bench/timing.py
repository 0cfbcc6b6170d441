"""What the benches time with: medians of repeated runs, and the time spent inside
onnxruntime (every network of every analyser, counted the same way wherever it is used)."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def timed(work: Callable[[], object], repeats: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """Median ms of ``work()`` over ``repeats`` runs on ``clock``."""
    samples = []
    for _ in range(repeats):
        started = clock()
        work()
        samples.append((clock() - started) * 1000)
    return statistics.median(samples)


class InferenceClock:
    """Adds up the time spent inside onnxruntime's ``Session.run`` (``spent``, seconds on
    ``clock``) and the calls (``runs``) while installed. The method is patched on the
    class, so every session of every analyser is timed, whenever it was built; nothing
    in the product knows about it."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.spent = 0.0
        self.runs = 0

    def __enter__(self) -> InferenceClock:
        from onnxruntime.capi.onnxruntime_inference_collection import Session

        self._session_class, self._real = Session, Session.run
        meter, real = self, Session.run

        def timed_run(session: Any, *args: Any, **kwargs: Any) -> Any:
            started = meter.clock()
            try:
                return real(session, *args, **kwargs)
            finally:
                meter.spent += meter.clock() - started
                meter.runs += 1

        Session.run = timed_run  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        self._session_class.run = self._real  # type: ignore[method-assign]


def timed_with_models(run: Callable[[], object], meter: InferenceClock, repeats: int) -> tuple[float, float, int]:
    """(median ms of ``run``, median ms of it spent inside onnxruntime, median
    ``Session.run`` calls per run) over ``repeats``, on ``meter``'s clock."""
    totals, models, runs = [], [], []
    for _ in range(repeats):
        meter.spent, meter.runs = 0.0, 0
        started = meter.clock()
        run()
        totals.append(meter.clock() - started)
        models.append(meter.spent)
        runs.append(meter.runs)
    return statistics.median(totals) * 1000, statistics.median(models) * 1000, int(statistics.median(runs))
