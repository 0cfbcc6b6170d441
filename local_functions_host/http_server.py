"""HTTP triggers on aiohttp's server.

Requests become ``func.HttpRequest`` objects as the host and worker build them
(GrpcMessageConversionExtensions.ToRpcHttp in the host): repeated query parameters
and headers joined with ``,`` (empty values skipped, as StringValues does), query
parameters whose value is empty left out, route values from the template, and a body
only when the request has Content-Length > 0 (a chunked request's body is read and
dropped: the function gets an empty body);
responses go back with the function's status, headers and body unchanged (a missing
Content-Type comes from ``mimetype``/``charset``, as the worker adds it). Unknown
paths, and known paths with a method the function does not accept, get a bare 404
like the host. Bodies above 100 MB get 413 without being read. A function that
raises or returns something other than an HttpResponse or str gets a bare 500.

Built in, outside the route prefix: ``GET /`` (a page saying the host runs),
``GET /admin/host/status``, ``GET /admin/functions`` (what was indexed, and the
functions in error) and ``GET /admin/functions/{name}/status`` (``{"errors": [...]}``
for a function in error, ``{}`` otherwise, 404 for an unknown name, as the host).
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import unquote

import azure.functions as func
from aiohttp import web

from .indexing import HttpFunction, IndexedFunction, QueueFunction, TimerFunction
from .invoker import Invoker, log_invocation, new_invocation_id
from .routing import Route, Router, RouteTemplate, join_template

log = logging.getLogger(__package__)
MAX_BODY_BYTES = 104_857_600  # the host's request size limit (100 MB)
#: Azure's front end refuses a URL longer than 4 KB (4,096 bytes) with 414 before the
#: host or the app sees it; the runner does the same, with no body.
MAX_URL_BYTES = 4096
#: aiohttp's own request-line limit (8,190 bytes, answered with a plain-text 400) is
#: raised above MAX_URL_BYTES so that the runner, not aiohttp, answers long URLs.
READ_LINE_BYTES = 65_536
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}
_NO_BODY = {204, 304}


class HttpHost:
    """Routes requests to the app's HTTP functions."""

    def __init__(
        self, functions: list[IndexedFunction], route_prefix: str, invoker: Invoker,
        errors: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        self.functions = functions
        self.errors = dict(errors or {})  # functions in error: name -> message
        self.route_prefix = route_prefix
        self.invoker = invoker
        self.started = time.monotonic()
        http = [f for f in functions if isinstance(f, HttpFunction)]
        self.router = Router(
            Route(RouteTemplate(join_template(route_prefix, f.route)), f.methods, f, order)
            for order, f in enumerate(http)
        )

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        # [\s\S]: a path may hold an encoded newline (%0A), which the host routes too.
        app.router.add_route("*", r"/{tail:[\s\S]*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if len(request.raw_path) > MAX_URL_BYTES:
            return web.Response(status=414)
        if request.path.lower().startswith("/admin/"):  # reserved by the host: no function route here
            return self._builtin(request) or web.Response(status=404)
        found = self.router.resolve(request.method, request.raw_path)
        if found is None:
            return self._builtin(request) or web.Response(status=404)
        function, route_values = found
        invocation_id = new_invocation_id()
        started = time.perf_counter()
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            log_invocation(function.name, invocation_id, "http", started, "rejected", status=413)
            return web.Response(status=413)
        try:
            body = await _read_body(request)
        except web.HTTPRequestEntityTooLarge:
            log_invocation(function.name, invocation_id, "http", started, "rejected", status=413)
            return web.Response(status=413)
        if not request.content_length:  # the host sends a body only when Content-Length > 0
            body = b""
        query = {name: value for name, value in _joined(request.query).items() if value}
        http_request = func.HttpRequest(
            request.method,
            f"{request.scheme}://{request.host}{request.raw_path}",
            headers=_joined(request.headers, fold_case=True),
            params=query,
            route_params=route_values,
            body=body,
        )
        try:
            result = await self.invoker.call(function, http_request, invocation_id)
            response = to_web_response(result)
        except Exception:
            log.exception("function %s (invocation_id=%s) failed", function.name, invocation_id)
            log_invocation(function.name, invocation_id, "http", started, "failed", status=500)
            return web.Response(status=500)
        log_invocation(function.name, invocation_id, "http", started, "succeeded", status=response.status)
        return response

    def _builtin(self, request: web.Request) -> web.StreamResponse | None:
        if request.method not in ("GET", "HEAD"):
            return None
        path = request.path.rstrip("/")
        if path == "":
            return web.Response(text=_HOME_PAGE, content_type="text/html")
        if path.lower() == "/admin/host/status":
            uptime_ms = int((time.monotonic() - self.started) * 1000)
            return web.json_response({"state": "Running", "version": "tagging-runner", "processUptime": uptime_ms})
        if path.lower() == "/admin/functions":
            listed = [describe(f, self.route_prefix) for f in self.functions]
            listed += [{"name": name, "errors": [error]} for name, error in self.errors.items()]
            return web.Response(text=json.dumps(listed), content_type="application/json")
        parts = path.split("/")
        if len(parts) == 5 and [p.lower() for p in parts[1:3]] == ["admin", "functions"] and parts[4].lower() == "status":
            name = unquote(parts[3])
            error = next((e for n, e in self.errors.items() if n.lower() == name.lower()), None)
            if error is not None:
                return web.json_response({"errors": [error]})
            if any(f.name.lower() == name.lower() for f in self.functions):
                return web.json_response({})
            return web.Response(status=404)
        return None


async def _read_body(request: web.Request) -> bytes:
    """The request body. With a Content-Length (already checked against MAX_BODY_BYTES)
    its chunks are joined once: ``request.read()`` grows a bytearray chunk by chunk and
    copies it again, which cost ~5 ms of CPU per 3 MB upload. Without one (chunked),
    ``request.read()`` enforces the size limit."""
    if request.content_length:
        return await request.content.readexactly(request.content_length)
    return await request.read()


def describe(function: IndexedFunction, route_prefix: str) -> dict[str, Any]:
    """What was indexed for one function (no connection strings)."""
    if isinstance(function, HttpFunction):
        return {
            "name": function.name,
            "trigger": "httpTrigger",
            "route": "/" + join_template(route_prefix, function.route),
            "methods": sorted(function.methods) if function.methods else None,
            "authLevel": function.auth_level,
        }
    if isinstance(function, TimerFunction):
        assert function.schedule is not None
        return {"name": function.name, "trigger": "timerTrigger", "schedule": function.schedule.expression,
                "runOnStartup": function.run_on_startup, "useMonitor": function.use_monitor}  # fmt: skip
    assert isinstance(function, QueueFunction)
    return {"name": function.name, "trigger": "queueTrigger", "queueName": function.queue_name,
            "connection": function.connection_setting}  # fmt: skip


def to_web_response(result: Any) -> web.Response:
    """The aiohttp response for what an HTTP function returned (TypeError otherwise)."""
    if isinstance(result, str):
        return web.Response(status=200, body=result.encode("utf-8"),
                            headers={"Content-Type": "text/plain; charset=utf-8"})  # fmt: skip
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"an HTTP function must return func.HttpResponse or str, not {type(result).__name__}")
    status = int(result.status_code)
    response = web.Response(status=status, body=None if status in _NO_BODY or status < 200 else result.get_body())
    response.headers.popall("Content-Type", None)
    for name, value in result.headers.items():
        if name.lower() in _HOP_BY_HOP:
            continue
        if name.lower() == "set-cookie":
            response.headers.add(name, value)
        else:
            response.headers[name] = value  # like the worker: one value per name, the last one wins
    if "Content-Type" not in response.headers:
        mimetype = result.mimetype or "text/plain"
        text = mimetype.startswith("text/")
        response.headers["Content-Type"] = f"{mimetype}; charset={result.charset}" if text else mimetype
    return response


def _joined(pairs: Any, fold_case: bool = False) -> dict[str, str]:
    """One value per name; repeated names joined with ',' skipping empty values, as
    the host's ``StringValues.ToString()`` does (a name whose values are all empty
    maps to '')."""
    joined: dict[str, str] = {}
    for name, value in pairs.items():
        key = name.lower() if fold_case else name
        previous = joined.get(key)
        if previous is None:
            joined[key] = value
        elif value:
            joined[key] = f"{previous},{value}" if previous else value
    return joined


_HOME_PAGE = """<!doctype html><title>Functions runner</title>
<p>Your Functions app is up and running (tagging runner, a local stand-in for the Functions host).
<p>See <a href="/admin/functions">/admin/functions</a> for what was indexed.
"""
