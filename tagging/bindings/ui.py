"""GET /api/ui: the web page and its static files (anonymous: the page itself holds
no data; the API calls it makes carry the function key the user enters)."""
from __future__ import annotations

from urllib.parse import urlsplit

import azure.functions as func

from .. import ui
from ..core.vocabulary import ErrorCode
from ._http import error_response, http_endpoint

bp = func.Blueprint()

# The page loads scripts, styles and data from this origin only; thumbnails and
# originals come from Blob Storage through SAS URLs on another origin.
PAGE_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data: blob: https: http:; base-uri 'self'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
REVALIDATE = "no-cache"  # may be stored, but is checked (ETag) before each use
IMMUTABLE = "public, max-age=31536000, immutable"


@bp.function_name("ui_page")
@bp.route(route="ui", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def ui_page(req: func.HttpRequest) -> func.HttpResponse:
    return _serve(req, "")


@bp.function_name("ui_asset")
@bp.route(route="ui/{*path}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def ui_asset(req: func.HttpRequest) -> func.HttpResponse:
    return _serve(req, req.route_params.get("path") or "")


def _serve(req: func.HttpRequest, path: str) -> func.HttpResponse:
    if path in ("", ui.INDEX):
        asset = ui.page(ui.base_path(urlsplit(req.url).path))
        headers = {"Cache-Control": REVALIDATE, **PAGE_SECURITY_HEADERS}
    else:
        found = ui.find(path)
        if found is None:
            return error_response(404, ErrorCode.NOT_FOUND, "no such file in the web page")
        asset = found
        versioned = req.params.get("v") == asset.version
        headers = {"Cache-Control": IMMUTABLE if versioned else REVALIDATE}
    headers.update({"ETag": asset.etag, "X-Content-Type-Options": "nosniff"})
    if _matches(req.headers.get("If-None-Match"), asset.etag):
        return func.HttpResponse(status_code=304, headers=headers)
    headers["Content-Type"] = asset.content_type
    return func.HttpResponse(asset.body, status_code=200, headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates
