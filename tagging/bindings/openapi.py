"""GET /api/openapi.json: the API's OpenAPI 3.1 description; and the app's answer to
every request no documented route and method serve (JSON 404, or 405 with ``Allow``).

The document is data (``openapi.json`` beside this module, shipped as package data),
kept true by tests/bindings/test_openapi.py against the functions as indexed. The
fallback reads its route table from it, so the two cannot drift apart.
"""
from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

import azure.functions as func

from ..core.vocabulary import ErrorCode
from ._http import error_response, http_endpoint

bp = func.Blueprint()

DOCUMENT = "openapi.json"
ROUTE_PREFIX = "api"  # host.json extensions.http.routePrefix (the document's paths carry it)
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@functools.cache
def document_bytes() -> bytes:
    """The document as served (read once per process)."""
    return resources.files(__package__).joinpath(DOCUMENT).read_bytes()


@functools.cache
def document() -> dict[str, Any]:
    return json.loads(document_bytes())


@functools.cache
def _routes() -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    """(path regex, documented methods) per path of the document. Literal segments
    match case-insensitively, as the host routes; ``{*name}`` in the path's
    ``x-functions-route`` is a catch-all that may span segments."""
    table = []
    for path, item in document()["paths"].items():
        catch_all = {m.group(1) for m in re.finditer(r"\{\*([^}]+)\}", item.get("x-functions-route", ""))}
        pattern = ""
        for piece in re.split(r"(\{[^}]+\})", path):
            if piece.startswith("{"):
                pattern += ".+" if piece[1:-1] in catch_all else "[^/]+"
            else:
                pattern += re.escape(piece)
        methods = tuple(m.upper() for m in METHODS if m in item)
        table.append((re.compile(pattern + "/?", re.IGNORECASE | re.DOTALL), methods))
    return tuple(table)


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods the document lists for ``path`` (a URL path), () for none."""
    for pattern, methods in _routes():
        if pattern.fullmatch(path):
            return methods
    return ()


@bp.function_name("openapi")
@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        document_bytes(),
        status_code=200,
        headers={"Cache-Control": "no-cache"},
        mimetype="application/json",
        charset="utf-8",
    )


@bp.function_name("no_route")
@bp.route(route="{*path}", auth_level=func.AuthLevel.ANONYMOUS)  # no methods: every method, TRACE too
@http_endpoint
def no_route(req: func.HttpRequest) -> func.HttpResponse:
    """The host routes here only what no other function takes (a catch-all has the
    lowest precedence): a documented path with another method is a 405 naming the
    methods it has (RFC 9110), anything else a JSON 404."""
    path = "/" + ROUTE_PREFIX + "/" + (req.route_params.get("path") or "")
    methods = allowed_methods(path)
    if methods:
        return error_response(
            405,
            ErrorCode.METHOD_NOT_ALLOWED,
            f"{req.method} is not served here; this route answers {', '.join(methods)}",
            {"Allow": ", ".join(methods)},
        )
    return error_response(404, ErrorCode.NOT_FOUND, "no API route here; the routes are listed at /api/openapi.json")
