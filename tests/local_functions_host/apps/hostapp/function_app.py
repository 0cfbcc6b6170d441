"""A test-only function app for the runner's host-semantics tests.

HTTP functions echo what the runner passed them; queue functions append one JSON line
per call to the file named by RUNNER_TEST_RECORDS. Queue names come from settings.
"""
import asyncio
import json
import os
import time

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def record(function: str, msg: func.QueueMessage, **extra) -> None:
    line = {
        "function": function,
        "id": msg.id,
        "body": msg.get_body().decode("utf-8", "replace"),
        "dequeue_count": msg.dequeue_count,
        "pop_receipt": msg.pop_receipt,
        "insertion_time": msg.insertion_time.isoformat() if msg.insertion_time else None,
        "expiration_time": msg.expiration_time.isoformat() if msg.expiration_time else None,
        "time_next_visible": msg.time_next_visible.isoformat() if msg.time_next_visible else None,
        "pid": os.getpid(),
        "t": time.time(),
        **extra,
    }
    with open(os.environ["RUNNER_TEST_RECORDS"], "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def _json(value, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value), status_code=status, mimetype="application/json")


@app.route(route="echo/{name:alpha}/{n:int?}", methods=["GET", "POST"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    return _json({
        "method": req.method,
        "url": req.url,
        "params": dict(req.params),
        "route_params": dict(req.route_params),
        "headers": {k: v for k, v in req.headers.items() if k.startswith("x-")},
        "body_length": len(req.get_body()),
        "pid": os.getpid(),
    })


@app.route(route="items/{id:guid}", methods=["GET"])
def item_by_guid(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"function": "item_by_guid", "id": req.route_params["id"]})


@app.route(route="things/new", methods=["GET"])
def thing_new(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"function": "thing_new"})


@app.route(route="things/{name}", methods=["GET"])
def thing_named(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"function": "thing_named", "name": req.route_params["name"]})


@app.route(route="codes/{code:regex(^[a-z]{{3}}-\\d+$)}", methods=["GET"])
def code(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"code": req.route_params["code"]})


@app.route(route="files/{*path}")
def files(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"method": req.method, "path": req.route_params.get("path")})


@app.route(route="respond", methods=["GET"])
def respond(req: func.HttpRequest) -> func.HttpResponse:
    """Status and headers exactly as asked; a binary body; two cookies."""
    status = int(req.params.get("status", "200"))
    headers = {"X-Custom": "kept as is", "Set-Cookie": "a=1; Path=/"}
    response = func.HttpResponse(bytes(range(256)), status_code=status, headers=headers, mimetype="application/x-test")
    response.headers.add("Set-Cookie", "b=2; Path=/")
    return response


@app.route(route="text", methods=["GET"])
def text(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("héllo", mimetype="text/plain", charset="utf-8")


@app.route(route="plain-string", methods=["GET"])
def plain_string(req: func.HttpRequest) -> str:
    return "just a string"


@app.route(route="raises", methods=["GET"])
def raises(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("boom (test)")


@app.route(route="returns-none", methods=["GET"])
def returns_none(req: func.HttpRequest) -> func.HttpResponse:
    return None


@app.route(route="size", methods=["POST"])
def size(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"length": len(req.get_body())})


@app.route(route="sleep", methods=["GET"])
async def sleep(req: func.HttpRequest) -> func.HttpResponse:
    await asyncio.sleep(float(req.params.get("s", "1")))
    return _json({"pid": os.getpid()})


@app.route(route="context", methods=["GET"])
def with_context(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return _json({
        "invocation_id": context.invocation_id,
        "function_name": context.function_name,
        "thread_invocation_id": getattr(context.thread_local_storage, "invocation_id", None),
    })


@app.queue_trigger(arg_name="msg", queue_name="%OK_QUEUE%", connection="AzureWebJobsStorage")
def succeeds(msg: func.QueueMessage) -> None:
    record("succeeds", msg)


@app.queue_trigger(arg_name="msg", queue_name="%FAIL_QUEUE%", connection="AzureWebJobsStorage")
def always_fails(msg: func.QueueMessage) -> None:
    record("always_fails", msg)
    raise RuntimeError("this function always fails (test)")


@app.queue_trigger(arg_name="msg", queue_name="%FAIL_QUEUE%-poison", connection="AzureWebJobsStorage")
def failed_poison(msg: func.QueueMessage) -> None:
    record("failed_poison", msg)


@app.queue_trigger(arg_name="msg", queue_name="%SLOW_QUEUE%", connection="AzureWebJobsStorage")
def slow(msg: func.QueueMessage) -> None:
    """Body: seconds to run."""
    record("slow_start", msg)
    time.sleep(float(msg.get_body()))
    record("slow_done", msg)
