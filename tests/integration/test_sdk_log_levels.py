"""The Azure SDK's loggers stay at WARNING in the deployed app.

The Python worker sets the root logger to INFO and forwards every record to the host
and Application Insights; host.json's ``Azure.Core`` level does not filter them (that
category is the .NET SDK's). azure-core's HTTP logging policy logs each request and
response at INFO, so the app itself must keep the SDK's loggers quiet. Run in a
subprocess: the logging configuration must be the worker's, not pytest's.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.support.host_process import private_storage

from ..conftest import ROOT

WORKER_LIKE = textwrap.dedent(
    """
    import json, logging, sys

    class Collect(logging.Handler):
        def __init__(self):
            super().__init__(logging.NOTSET)
            self.records = []
        def emit(self, record):
            self.records.append(record)

    # What the worker does once its gRPC channel is up: root at INFO, one handler for all.
    collected = Collect()
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.handlers[:] = [collected]

    import function_app
    from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient
    from tests.support import images
    from tests.support.host import Host, body_json

    functions = {f.get_function_name(): f for f in function_app.app.get_functions()}
    settings = json.loads(sys.argv[1])
    host = Host(functions, settings["AzureWebJobsStorage"], settings["TAGGING_QUEUE"])
    uploaded = host.http("upload_images", "POST", "images", user="sdk-logs",
                         headers={"Content-Type": "image/jpeg"}, params={"filename": "l.jpg"}, body=images.solid())
    assert uploaded.status_code == 202, uploaded.get_body()
    assert host.drain() == 1
    image_id = body_json(uploaded)["images"][0]["id"]
    detail = body_json(host.http("get_image", "GET", "i", user="sdk-logs", route_params={"id": image_id}))
    assert detail["status"] == "tagged", detail
    print(json.dumps([{"name": r.name, "level": r.levelno, "message": r.getMessage()[:200]}
                      for r in collected.records]))
    """
)


def run_like_the_worker(azurite, **extra: str) -> list[dict]:
    settings = {
        **private_storage("sdklogs"),
        "AzureWebJobsStorage": azurite.connection_string,
        "TAGGING_TRUST_PRINCIPAL_HEADER": "true",
        **extra,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAGGING_", "AzureWebJobs"))}
    env.update(settings)
    done = subprocess.run([sys.executable, "-c", WORKER_LIKE, json.dumps(settings)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_sdk_loggers_forward_nothing_below_warning_and_the_apps_events_still_flow(azurite):
    records = run_like_the_worker(azurite)
    sdk = [r for r in records if r["name"].split(".")[0] in ("azure", "msal", "urllib3")]
    noisy = [r for r in sdk if r["level"] < 30]
    assert not noisy, f"{len(noisy)} SDK records below WARNING, e.g. {noisy[:2]}"
    events = [r["message"].split(" ", 1)[0] for r in records if r["name"].startswith("tagging") and r["level"] == 20]
    assert "http" in events and "tag" in events  # the app's own INFO events are still forwarded


def test_tagging_sdk_log_level_turns_the_sdk_logs_back_on(azurite):
    records = run_like_the_worker(azurite, TAGGING_SDK_LOG_LEVEL="INFO")
    assert any(r["name"] == "azure.core.pipeline.policies.http_logging_policy" and r["level"] == 20 for r in records)
