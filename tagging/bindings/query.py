"""Read and delete: images, one image, batches, tags; and health."""
from __future__ import annotations

import azure.functions as func

from ..core.vocabulary import ErrorCode
from . import _services
from ._http import caller, error_response, http_endpoint, json_response

bp = func.Blueprint()


@bp.function_name("list_images")
@bp.route(route="images", methods=["GET"])
@http_endpoint
def list_images(req: func.HttpRequest) -> func.HttpResponse:
    user = caller(req)
    return json_response(
        _services.query_service().list_images(
            user, req.params.get("tag"), req.params.get("limit"), req.params.get("continuation"), req.params.get("text")
        )
    )


@bp.function_name("get_image")
@bp.route(route="images/{id}", methods=["GET"])
@http_endpoint
def get_image(req: func.HttpRequest) -> func.HttpResponse:
    user = caller(req)
    return json_response(_services.query_service().get_image(user, req.route_params.get("id", "")))


@bp.function_name("delete_image")
@bp.route(route="images/{id}", methods=["DELETE"])
@http_endpoint
def delete_image(req: func.HttpRequest) -> func.HttpResponse:
    user = caller(req)
    _services.query_service().delete_image(user, req.route_params.get("id", ""))
    return func.HttpResponse(status_code=204)


@bp.function_name("get_batch")
@bp.route(route="batches/{id}", methods=["GET"])
@http_endpoint
def get_batch(req: func.HttpRequest) -> func.HttpResponse:
    user = caller(req)
    return json_response(_services.query_service().get_batch(user, req.route_params.get("id", "")))


@bp.function_name("list_tags")
@bp.route(route="tags", methods=["GET"])
@http_endpoint
def list_tags(req: func.HttpRequest) -> func.HttpResponse:
    user = caller(req)
    return json_response(_services.query_service().list_tags(user))


@bp.function_name("health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def health(req: func.HttpRequest) -> func.HttpResponse:
    report = _services.query_service().health()
    if report["status"] != "ok":
        down = ", ".join(name for name, up in report["storage"].items() if not up)
        return error_response(
            503, ErrorCode.STORAGE_UNAVAILABLE, f"storage does not answer: {down}", {"Retry-After": "5"}
        )
    return json_response(report)
