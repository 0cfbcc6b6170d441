"""Re-tagging: POST /api/images/{id}/retag (one image), POST /api/retags (all of the
caller's images, ``?outdated=true``: only those tagged by an older analysis version),
GET /api/retags/{id} (a job's progress). The POSTs answer 202 with the job and its
``Location``; an ``Idempotency-Key`` works as for uploads."""
from __future__ import annotations

from typing import TYPE_CHECKING

import azure.functions as func

from . import _services
from ._http import caller, http_endpoint, json_response
from .upload import IDEMPOTENCY_HEADER, REPLAYED_HEADER

if TYPE_CHECKING:  # imported on first use, not at cold start
    from ..services.retag import RetagResult

bp = func.Blueprint()


def _accepted(result: RetagResult) -> func.HttpResponse:
    headers = {"Location": f"/api/retags/{result.answer['retag_id']}"}
    if result.replayed:
        headers[REPLAYED_HEADER] = "true"
    return json_response(result.answer, status=202, headers=headers)


@bp.function_name("retag_image")
@bp.route(route="images/{id}/retag", methods=["POST"])
@http_endpoint
def retag_image(req: func.HttpRequest) -> func.HttpResponse:
    user = caller(req)
    return _accepted(
        _services.retag_service().retag_image(
            user, req.route_params.get("id", ""), idempotency_key=req.headers.get(IDEMPOTENCY_HEADER)
        )
    )


@bp.function_name("retag_images")
@bp.route(route="retags", methods=["POST"])
@http_endpoint
def retag_images(req: func.HttpRequest) -> func.HttpResponse:
    from ..services.retag import parse_outdated

    user = caller(req)
    outdated = parse_outdated(req.params.get("outdated"))
    return _accepted(
        _services.retag_service().retag_all(user, outdated, idempotency_key=req.headers.get(IDEMPOTENCY_HEADER))
    )


@bp.function_name("get_retag")
@bp.route(route="retags/{id}", methods=["GET"])
@http_endpoint
def get_retag(req: func.HttpRequest) -> func.HttpResponse:
    user = caller(req)
    return json_response(_services.retag_service().get_job(user, req.route_params.get("id", "")))
