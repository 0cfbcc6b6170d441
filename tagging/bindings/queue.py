"""Queue triggers: tag requests, and their poison queue.

Each decodes its message with the tag-request codec (:mod:`tagging.adapters.queues`),
as the azure-functions converters decode a trigger's data, and hands the tag service a
:class:`~tagging.core.records.TagRequest` and the delivery count. A message that is
not a tag request is logged as dropped and consumed, not retried (it would fail the
same way every time).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import azure.functions as func

from ..settings import STORAGE_CONNECTION_SETTING
from . import _services

if TYPE_CHECKING:
    from ..core.records import TagRequest
    from ..services.tagging import TagService

bp = func.Blueprint()


Handler = Callable[["TagService", "TagRequest", int], object]


def _deliver(msg: func.QueueMessage, handle: Handler, undecodable: str) -> None:
    """Decode ``msg`` and pass its request to ``handle``; an undecodable message is
    dropped with the reason ``<undecodable>: <what is wrong>``."""
    from ..adapters.queues import decode_request  # with the Queue SDK: loaded on the first message

    service = _services.tag_service()
    try:
        request = decode_request(msg.get_body())
    except ValueError as error:
        service.drop_undecodable(f"{undecodable}: {error}")
        return
    handle(service, request, int(getattr(msg, "dequeue_count", None) or 1))


@bp.function_name("tag_image")
@bp.queue_trigger(arg_name="msg", queue_name="%TAGGING_QUEUE%", connection=STORAGE_CONNECTION_SETTING)
def tag_image(msg: func.QueueMessage) -> None:
    _deliver(msg, lambda service, request, count: service.process(request, count), "not a tag request")


@bp.function_name("tag_image_poison")
@bp.queue_trigger(arg_name="msg", queue_name="%TAGGING_QUEUE%-poison", connection=STORAGE_CONNECTION_SETTING)
def tag_image_poison(msg: func.QueueMessage) -> None:
    _deliver(msg, lambda service, request, count: service.mark_poisoned(request, count),
             "poison message is not a tag request")  # fmt: skip
