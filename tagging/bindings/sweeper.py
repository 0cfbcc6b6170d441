"""Timer trigger: the orphan sweeper (see :mod:`tagging.services.sweeper`), on the NCRONTAB
schedule in the ``TAGGING_SWEEP_SCHEDULE`` app setting (e.g. ``0 */15 * * * *``)."""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import azure.functions as func

from ..settings import SWEEP_SCHEDULE_SETTING, Settings
from . import _services

if TYPE_CHECKING:  # imported on first use, not at cold start
    from ..services.sweeper import SweepService

bp = func.Blueprint()


@lru_cache(maxsize=1)
def _sweeper(settings: Settings) -> SweepService:
    """One service per settings (it keeps nothing between runs: the listing's position
    is stored in Table Storage)."""
    from ..adapters import get_storage
    from ..services.sweeper import SweepService

    return SweepService(settings, get_storage(settings))


def sweep_service() -> SweepService:
    return _sweeper(_services.settings())


@bp.function_name("sweep_orphans")
@bp.timer_trigger(schedule=f"%{SWEEP_SCHEDULE_SETTING}%", arg_name="timer", run_on_startup=False, use_monitor=True)
def sweep_orphans(timer: func.TimerRequest) -> None:
    sweep_service().sweep(past_due=bool(timer.past_due))
