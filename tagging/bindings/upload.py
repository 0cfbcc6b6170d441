"""POST /api/images: one image or a batch.

An empty body without a Content-Length header is a 411 ``length_required``: under the
Functions host that is what a chunked upload looks like (the host passes a body to the
worker only when Content-Length > 0).

An ``Idempotency-Key`` header is passed on to the service (see
:mod:`tagging.services.idempotency`); a replayed answer carries ``Idempotent-Replayed: true``.
"""
from __future__ import annotations

import azure.functions as func

from ..core.vocabulary import ErrorCode
from . import _services
from ._http import caller, error_response, http_endpoint, json_response
from ._multipart import parse_upload

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

bp = func.Blueprint()


@bp.function_name("upload_images")
@bp.route(route="images", methods=["POST"])
@http_endpoint
def upload_images(req: func.HttpRequest) -> func.HttpResponse:
    user = caller(req)
    settings = _services.settings()
    body = req.get_body()
    if not body and req.headers.get("Content-Length") is None:
        # The Functions host passes a request body on only when Content-Length > 0: a
        # chunked upload (Transfer-Encoding: chunked) arrives here empty. Say so, rather
        # than "no files".
        return error_response(
            411,
            ErrorCode.LENGTH_REQUIRED,
            "send the upload with a Content-Length header: the Functions host does not pass on "
            "chunked request bodies (Transfer-Encoding: chunked), so this one arrived empty",
        )
    if len(body) > settings.max_request_bytes:
        return error_response(
            413, ErrorCode.REQUEST_TOO_LARGE, f"requests may be at most {settings.max_request_bytes} bytes"
        )
    parsed = parse_upload(body, req.headers.get("Content-Type", ""), req.params.get("filename"), settings.max_files)
    result = _services.upload_service().upload(
        user, parsed.files, parsed.metadata, idempotency_key=req.headers.get(IDEMPOTENCY_HEADER)
    )
    location = f"/api/batches/{result.batch_id}"
    images = [{**image, "url": f"/api/images/{image['id']}"} for image in result.images]
    headers = {"Location": location} | ({REPLAYED_HEADER: "true"} if result.replayed else {})
    return json_response(
        {"batch_id": result.batch_id, "images": images, "rejected": result.rejected}, status=202, headers=headers
    )
