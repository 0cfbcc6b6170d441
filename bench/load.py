"""`make load`: concurrent clients upload through the runner; nothing may go missing.

N clients each upload M images (one request per image: real photos re-encoded at
phone-thumbnail size, plus every tenth file truncated so some images must fail) to a
runner with W workers and a private Azurite. Then it waits until every accepted image
is tagged or failed and reports throughput, upload -> tagged latency (from the
server's own uploaded_at/tagged_at), HTTP status counts, and the exact check
``accepted == tagged + failed`` (and nothing left ``queued``). Exit code 1 when the
check fails.
"""
from __future__ import annotations

import argparse
import collections
import json
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import requests

from bench.photos import fixture_photos
from tagging.cli.client import ApiClient
from tests.support.host_process import RunnerProcess, runner_env
from tests.support.images import reencoded
from tools.azurite import PROJECT_ROOT, Azurite

RESULTS = Path(__file__).resolve().parent / "load-results.json"


def _inputs(count: int) -> list[tuple[str, bytes]]:
    photos = list(fixture_photos().items())
    files = []
    for i in range(count):
        name, data = photos[i % len(photos)]
        variant = reencoded(data, scale=1.0 + (i % 5) * 0.2, quality=70 + i % 20)  # distinct bytes each
        if i % 10 == 9:
            variant = variant[: len(variant) // 3]  # decodes to a failure, by design
        files.append((f"{i:04d}-{name.rsplit('.', 1)[0]}.jpg", variant))
    return files


def _when(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(clients: int, per_client: int, workers: int) -> dict:
    files = _inputs(clients * per_client)
    statuses: collections.Counter[str] = collections.Counter()
    accepted: list[str] = []
    with tempfile.TemporaryDirectory(prefix="tagging-load-") as scratch:
        azurite = Azurite.start(log_file=Path(scratch) / "azurite.log")
        runner = RunnerProcess(
            PROJECT_ROOT,
            runner_env(azurite.connection_string, TAGGING_DEFAULT_USER="load", TAGGING_QUEUE="load-requests"),
            ["--workers", str(workers)],
            Path(scratch) / "runner.log",
        )
        try:
            runner.start()
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_maxsize=clients)
            session.mount("http://", adapter)

            def client(index: int) -> None:
                for name, data in files[index::clients]:
                    response = session.post(
                        f"{runner.base}/api/images", params={"filename": name}, data=data,
                        headers={"Content-Type": "image/jpeg"}, timeout=120,
                    )  # fmt: skip
                    statuses[str(response.status_code)] += 1
                    if response.status_code == 202:
                        accepted.extend(i["id"] for i in response.json()["images"])

            started = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(client, range(clients)))
            uploaded_s = time.perf_counter() - started
            images = _wait_settled(ApiClient(runner.base), len(accepted))
            elapsed = time.perf_counter() - started
        finally:
            runner.ensure_stopped()
            azurite.stop()
    by_status = collections.Counter(i["status"] for i in images.values())
    latencies = [
        (_when(i["tagged_at"]) - _when(i["uploaded_at"])) * 1000 for i in images.values() if i["status"] == "tagged"
    ]
    return {
        "clients": clients,
        "per_client": per_client,
        "workers": workers,
        "sent": len(files),
        "http_status": dict(statuses),
        "accepted": len(accepted),
        "stored": len(images),
        "tagged": by_status.get("tagged", 0),
        "failed": by_status.get("failed", 0),
        "queued": by_status.get("queued", 0),
        "missing": len(set(accepted) - set(images)),
        "uploads_per_s": round(len(files) / uploaded_s, 2),
        "images_per_s": round(len(accepted) / elapsed, 2),
        "elapsed_s": round(elapsed, 1),
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "latency_p99_ms": round(_percentile(latencies, 0.99), 1) if latencies else None,
        "accounted": len(accepted) == by_status.get("tagged", 0) + by_status.get("failed", 0)
        and not set(accepted) - set(images),
    }


def _wait_settled(client: ApiClient, expected: int, timeout: float = 900) -> dict[str, dict]:
    """Every image of the user, once none is queued (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    while True:
        images = client.all_images()
        settled = len(images) >= expected and all(i["status"] != "queued" for i in images.values())
        if settled or time.monotonic() > deadline:
            return images
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    report = run(args.clients, args.per_client, args.workers)
    for key, value in report.items():
        print(f"  {key:<16} {value}")
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print("uploaded = tagged + failed:", "yes" if report["accounted"] else "NO")
    return 0 if report["accounted"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
