"""Queue triggers: tag requests, and their poison queue."""
from __future__ import annotations

import azure.functions as func

from ..settings import STORAGE_CONNECTION_SETTING
from . import _services

bp = func.Blueprint()


def _dequeue_count(msg: func.QueueMessage) -> int:
    return int(getattr(msg, "dequeue_count", None) or 1)


@bp.function_name("tag_image")
@bp.queue_trigger(arg_name="msg", queue_name="%TAGGING_QUEUE%", connection=STORAGE_CONNECTION_SETTING)
def tag_image(msg: func.QueueMessage) -> None:
    _services.tag_service().process(msg.get_body(), _dequeue_count(msg))


@bp.function_name("tag_image_poison")
@bp.queue_trigger(arg_name="msg", queue_name="%TAGGING_QUEUE%-poison", connection=STORAGE_CONNECTION_SETTING)
def tag_image_poison(msg: func.QueueMessage) -> None:
    _services.tag_service().mark_poisoned(msg.get_body(), _dequeue_count(msg))
