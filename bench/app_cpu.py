"""CPU of the deployed functions per image, without the host around them.

In one fresh process against Azurite, each 12 MP JPEG goes through the functions
exactly as indexed (``app.get_functions()``): ``upload_images`` with a real
HttpRequest (a raw image/jpeg body, as the page and the CLI send one file a request),
then ``tag_image`` with the real QueueMessage the upload sent. CPU is measured with
``time.process_time`` (every thread of the process, so the SDK's own thread pools
count) around each function call only: receiving and deleting the message is the
host's work (in Azure, the .NET host's, on no Python thread) and is left out, as is
anything the benchmark itself does. One image at a time, so no GIL contention.

``tagging_cpu_ms`` is the analysis (``analyse``) inside those same calls, so
``function_cpu_over_tagging_cpu`` compares CPU measured in one run on one process;
``tagging_only_cpu_ms`` is ``analyse`` alone on the same bytes afterwards, and
``breakdown_ms`` says where the rest goes (the adapters' calls, by method).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PROBE = r"""
import collections, functools, json, os, statistics, sys, time
import azure.functions as func
from azure.functions.queue import QueueMessage
from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient

import function_app
from tagging.core.analysis import analyse

functions = {f.get_function_name(): f.get_user_function() for f in function_app.app.get_functions()}
photos = [open(p, "rb").read() for p in sys.argv[2:]]
images = int(sys.argv[1])

spent = collections.Counter()
def timed(cls, name):
    original = getattr(cls, name)
    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[f"{cls.__name__}.{name}"] += time.process_time() - started
    setattr(cls, name, wrapper)

from tagging.adapters.blobs import BlobStore
from tagging.adapters.queues import TagQueue
from tagging.adapters.tables import BatchTable, FingerprintTable, ImageTable, TagIndexTable
import tagging.services.tagging as tagging_service
for cls, names in ((BlobStore, ["put_original", "get_original", "put_thumbnail", "original_exists"]),
                   (TagQueue, ["send"]), (ImageTable, ["insert", "replace_existing", "find"]),
                   (BatchTable, ["upsert"]), (FingerprintTable, ["register", "matching"]),
                   (TagIndexTable, ["replace_rows"])):
    for name in names:
        timed(cls, name)
_analyse = tagging_service.analyse
def analyse_timed(*args, **kwargs):
    started = time.process_time()
    try:
        return _analyse(*args, **kwargs)
    finally:
        spent["analyse"] += time.process_time() - started
tagging_service.analyse = analyse_timed

queue = QueueClient.from_connection_string(os.environ["AzureWebJobsStorage"], os.environ["TAGGING_QUEUE"],
                                           message_decode_policy=BinaryBase64DecodePolicy())

def upload(data, name):
    request = func.HttpRequest("POST", "http://localhost/api/images", headers={
        "Content-Type": "image/jpeg", "Content-Length": str(len(data))}, params={"filename": name}, body=data)
    response = functions["upload_images"](request)
    assert response.status_code == 202, response.get_body()

def tag_next():
    (message,) = list(queue.receive_messages(max_messages=1, visibility_timeout=60))
    return message

def one(i):
    data = photos[i % len(photos)]
    started = time.process_time()
    upload(data, f"p{i}.jpg")
    upload_cpu = time.process_time() - started
    message = tag_next()
    started = time.process_time()
    functions["tag_image"](QueueMessage(id=message.id, body=message.content, dequeue_count=message.dequeue_count))
    tag_cpu = time.process_time() - started
    queue.delete_message(message)
    return upload_cpu, tag_cpu

for i in range(3):  # warm: clients, containers, tables, the classifier
    one(i)
spent.clear()
rows = [one(i) for i in range(images)]
ups, tags = [r[0] * 1000 for r in rows], [r[1] * 1000 for r in rows]
tagging = []
for data in photos:
    for _ in range(3):
        started = time.process_time(); analyse(data, 10**9); tagging.append((time.process_time() - started) * 1000)
print(json.dumps({
    "images": images,
    "upload_cpu_ms": statistics.mean(ups), "tag_cpu_ms": statistics.mean(tags),
    "tagging_cpu_ms": statistics.median(tagging),
    "breakdown_ms": {k: round(v * 1000 / images, 2) for k, v in spent.most_common()},
}))
"""


def measure(photos: dict[str, bytes], images: int = 48) -> dict:
    from tests.support.host_process import private_storage, runner_env
    from tools.azurite import Azurite

    with tempfile.TemporaryDirectory(prefix="tagging-appcpu-") as scratch:
        paths = []
        for index, data in enumerate(photos.values()):
            path = Path(scratch) / f"{index}.jpg"
            path.write_bytes(data)
            paths.append(str(path))
        azurite = Azurite.start(log_file=Path(scratch) / "azurite.log")
        try:
            env = runner_env(azurite.connection_string, TAGGING_DEFAULT_USER="bench", **private_storage("appcpu"))
            out = subprocess.run(
                [sys.executable, "-c", _PROBE, str(images), *paths], cwd=ROOT, env=env, capture_output=True, text=True
            )
            if out.returncode:
                raise RuntimeError(f"app CPU probe failed:\n{out.stderr[-3000:]}")
        finally:
            azurite.stop()
    result = json.loads(out.stdout.strip().splitlines()[-1])
    function_ms = result["upload_cpu_ms"] + result["tag_cpu_ms"]
    tagging_ms = result["breakdown_ms"]["analyse"]  # the same images' analysis, inside this run
    return {
        "images": images,
        "function_cpu_ms_per_image": round(function_ms, 1),
        "upload_cpu_ms": round(result["upload_cpu_ms"], 1),
        "tag_cpu_ms": round(result["tag_cpu_ms"], 1),
        "tagging_cpu_ms": round(tagging_ms, 1),
        "tagging_only_cpu_ms": round(result["tagging_cpu_ms"], 1),
        "function_cpu_over_tagging_cpu": round(function_ms / tagging_ms, 2),
        "breakdown_ms": result["breakdown_ms"],
    }


if __name__ == "__main__":
    from bench.photos import phone_photos

    print(json.dumps(measure(phone_photos(8), images=int(sys.argv[1]) if len(sys.argv) > 1 else 48), indent=2))
