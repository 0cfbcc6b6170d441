"""End-to-end figures through the runner and Azurite.

- throughput: ``images`` 12 MP JPEGs uploaded by 4 concurrent clients, one image per
  request as the web page and the CLI send them, from the first upload until the last
  image's ``tagged_at``; with 1 and 2 workers;
- latency: one image at a time on an idle app, upload -> ``tagged`` (p50, p99).
"""
from __future__ import annotations

import json
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import requests

from tests.support.host_process import RunnerProcess, private_storage, runner_env
from tools.azurite import PROJECT_ROOT, Azurite

UPLOAD_CLIENTS = 4
POLL_SECONDS = 0.25


def _wait_all_done(
    session: requests.Session, base: str, batch_ids: list[str], timeout: float = 600,
    on_newest_done: Callable[[], None] | None = None,
) -> list[dict]:  # fmt: skip
    """Every image of ``batch_ids`` once all are tagged or failed.

    Polls only the newest pending batch (about four light requests a second), then
    sweeps the older ones, so the measurement adds little load of its own.
    ``on_newest_done`` runs once, when the newest batch is first seen done (before the
    sweep, which is the benchmark's check rather than the app's per-image work).
    """
    deadline = time.monotonic() + timeout
    pending = list(batch_ids)
    images: list[dict] = []
    while pending:
        body = session.get(f"{base}/api/batches/{pending[-1]}", timeout=30).json()
        if not body["done"]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} batches not done within {timeout} s")
            time.sleep(POLL_SECONDS)
            continue
        if on_newest_done is not None:
            on_newest_done()
            on_newest_done = None
        images += body["images"]
        pending.pop()
        for batch_id in list(pending):
            older = session.get(f"{base}/api/batches/{batch_id}", timeout=30).json()
            if older["done"]:
                images += older["images"]
                pending.remove(batch_id)
    return images


def _epoch_seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def throughput(
    base: str, photos: list[tuple[str, bytes]], images: int, on_newest_done: Callable[[], None] | None = None
) -> dict[str, float]:
    """Images per second from the first upload until the last image's ``tagged_at``
    (the app's clock, on this machine), so the rate does not depend on how often the
    benchmark polls."""
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=UPLOAD_CLIENTS))
    started = time.perf_counter()
    started_epoch = time.time()

    def post(index: int) -> str:
        name, data = photos[index % len(photos)]
        response = session.post(
            f"{base}/api/images", params={"filename": name}, data=data, headers={"Content-Type": "image/jpeg"}, timeout=120
        )
        response.raise_for_status()
        return response.json()["batch_id"]

    with ThreadPoolExecutor(UPLOAD_CLIENTS) as pool:
        batch_ids = list(pool.map(post, range(images)))
    uploaded = time.perf_counter() - started
    done = _wait_all_done(session, base, batch_ids, on_newest_done=on_newest_done)
    elapsed = max(_epoch_seconds(image["tagged_at"]) for image in done) - started_epoch
    return {
        "images": images,
        "uploaded_s": round(uploaded, 2),
        "elapsed_s": round(elapsed, 2),
        "images_per_s": round(images / elapsed, 2),
        "tagged": sum(image["status"] == "tagged" for image in done),
        "failed": sum(image["status"] == "failed" for image in done),
    }


def latency(base: str, photos: list[tuple[str, bytes]], samples: int) -> dict[str, float]:
    session = requests.Session()
    times = []
    for i in range(samples):
        name, data = photos[i % len(photos)]
        time.sleep(0.3 + secrets.randbelow(400) / 1000)  # let the queue poller go idle
        started = time.perf_counter()
        response = session.post(
            f"{base}/api/images", params={"filename": name}, data=data, headers={"Content-Type": "image/jpeg"}, timeout=60
        )
        response.raise_for_status()
        image_id = response.json()["images"][0]["id"]
        while session.get(f"{base}/api/images/{image_id}", timeout=30).json()["status"] == "queued":
            time.sleep(0.02)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "samples": samples,
        "p50_ms": round(statistics.median(times), 1),
        "p99_ms": round(times[min(len(times) - 1, round(0.99 * (len(times) - 1)))], 1),
        "max_ms": round(times[-1], 1),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children so far (Linux /proc)."""
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [pid, *(int(c) for c in children.read_text().split())] if children.exists() else [pid]
    for each in pids:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run(
    photos: dict[str, bytes],
    images: int = 96,
    latency_samples: int = 20,
    tagging_rate: Callable[[], float] | None = None,
) -> dict:
    """Throughput with 1 and 2 workers, then idle latency with 1 worker.

    ``tagging_rate`` (tagging-only images/s) is measured just before and just after
    each throughput run; their mean is the run's ``tagging_images_per_s_adjacent``.
    This machine's speed drifts by ±20 % within a minute, so a ratio against a rate
    measured alongside is steadier than one against a rate from a minute earlier.
    """
    items = list(photos.items())
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="tagging-bench-") as scratch:
        azurite = Azurite.start(log_file=Path(scratch) / "azurite.log")
        try:
            for workers in (1, 2):
                env = runner_env(azurite.connection_string, TAGGING_DEFAULT_USER="bench", **private_storage("bench"))
                runner = RunnerProcess(PROJECT_ROOT, env, ["--workers", str(workers)], Path(scratch) / f"runner-{workers}.log")
                runner.start()
                try:
                    # Warm every worker's classifier before timing.
                    throughput(runner.base, items, 2 * workers)
                    before = tagging_rate() if tagging_rate else None
                    app_cpu, storage_cpu = cpu_seconds(runner.process.pid), cpu_seconds(azurite.process.pid)
                    at_done: dict[str, float] = {}

                    def mark(pid: int = runner.process.pid, spid: int = azurite.process.pid) -> None:
                        at_done.update(app=cpu_seconds(pid), storage=cpu_seconds(spid))

                    measured = throughput(runner.base, items, images, on_newest_done=mark)
                    # Where the CPU went, per image: the app (runner workers) and Azurite,
                    # from the first upload until the last batch is seen done (the final
                    # sweep over every batch is the benchmark's check, left out).
                    measured["app_cpu_ms_per_image"] = round((at_done["app"] - app_cpu) * 1000 / images, 1)
                    measured["azurite_cpu_ms_per_image"] = round((at_done["storage"] - storage_cpu) * 1000 / images, 1)
                    measured["app_cpu_ms_per_image_with_sweep"] = round(
                        (cpu_seconds(runner.process.pid) - app_cpu) * 1000 / images, 1
                    )
                    if tagging_rate and before:
                        measured["tagging_images_per_s_adjacent"] = round((before + tagging_rate()) / 2, 2)
                    results[f"workers_{workers}"] = measured
                    if workers == 1:
                        results["latency_idle"] = latency(runner.base, items, latency_samples)
                finally:
                    runner.ensure_stopped()
        finally:
            azurite.stop()
    return results


if __name__ == "__main__":
    from bench.photos import phone_photos

    print(json.dumps(run(phone_photos(4), images=8, latency_samples=3), indent=2))
