"""``tagging upload``: find files, upload them N at a time (one request per file, so
each has its own progress bar), optionally wait until they are tagged."""
from __future__ import annotations

import mimetypes
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.vocabulary import ImageStatus
from .args import UsageError
from .client import ApiClient, ApiError, ConnectionFailed, new_idempotency_key
from .progress import Progress

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".heic", ".heif", ".avif"}
POLL_SECONDS = 1.0

# Outcomes of one file: an ImageStatus from the app (queued/tagged/failed); "rejected"
# means the app refused the file; "error" means it was not uploaded (connection, 5xx, 401...).
REJECTED, ERROR, QUEUED = "rejected", "error", ImageStatus.QUEUED


@dataclass
class FileResult:
    path: Path
    filename: str
    status: str = "pending"
    image_id: str | None = None
    batch_id: str | None = None
    tags: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, str] | None = None
    # Made once per file and sent on every attempt: a retry never stores a second copy.
    idempotency_key: str = field(default_factory=new_idempotency_key)

    def as_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path), "filename": self.filename, "status": self.status, "id": self.image_id,
            "batch_id": self.batch_id, "tags": self.tags, "error": self.error,
        }  # fmt: skip


def collect(paths: list[str]) -> list[Path]:
    """Files named, and image files under folders named (recursively, hidden ones
    skipped), in order, each once."""
    found: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_file():
            candidates = [path]
        elif path.is_dir():
            candidates = sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )  # fmt: skip
            if not candidates:
                raise UsageError(f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) under {raw}")
        else:
            raise UsageError(f"{raw}: no such file or folder")
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    return found


def upload_all(
    client: ApiClient, files: list[Path], metadata: str | None, concurrency: int, progress: Progress,
    report: Callable[[FileResult], None],
) -> list[FileResult]:  # fmt: skip
    """Upload every file; ``report`` is called as each finishes. After the app proves
    unreachable, the files not yet started are not tried."""
    results = [FileResult(path, path.name) for path in files]
    unreachable = threading.Event()
    overall = progress.overall(len(files), "uploaded")

    def one(result: FileResult) -> None:
        if unreachable.is_set():
            result.status, result.error = ERROR, {"code": "not_attempted", "message": "the app is unreachable"}
        else:
            _upload_one(client, result, metadata, progress, unreachable)
        overall.update(1)
        report(result)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="upload") as pool:
        list(pool.map(one, results))
    overall.close()
    return results


def _upload_one(
    client: ApiClient, result: FileResult, metadata: str | None, progress: Progress, unreachable: threading.Event
) -> None:
    try:
        data = result.path.read_bytes()
    except OSError as error:
        result.status, result.error = ERROR, {"code": "unreadable", "message": error.strerror or str(error)}
        return
    content_type = mimetypes.guess_type(result.filename)[0] or "application/octet-stream"
    with progress.file(result.filename, len(data)) as bar:
        try:
            body = client.upload(
                result.filename, data, content_type, metadata, bar.update, bar.reset, result.idempotency_key
            )
        except ConnectionFailed as error:
            unreachable.set()
            result.status, result.error = ERROR, {"code": "unreachable", "message": str(error)}
            return
        except ApiError as error:
            config_or_server = error.is_client_config_error or error.status >= 500
            result.status = ERROR if config_or_server else REJECTED
            result.error = {"code": error.code, "message": error.message}
            return
    result.batch_id = body.get("batch_id")
    if body.get("images"):
        image = body["images"][0]
        result.image_id, result.status, result.filename = image["id"], image.get("status", QUEUED), image["filename"]
    else:
        rejected = (body.get("rejected") or [{}])[0]
        result.status = REJECTED
        result.error = rejected.get("error") or {"code": "rejected", "message": "the app did not accept the file"}


def wait_for_retag(client: ApiClient, retag_id: str, timeout: float, progress: Progress) -> dict[str, Any]:
    """Poll a re-tag job until no image of it is queued, or ``timeout`` seconds; its
    last progress answer. Connection trouble raises ConnectionFailed."""
    state = client.get(f"retags/{retag_id}")
    bar = progress.overall(state["total"], "re-tagged")
    shown = 0
    deadline = time.monotonic() + timeout
    while True:
        settled = state["total"] - state["queued"]
        bar.update(settled - shown)
        shown = settled
        if state["done"] or time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
        state = client.get(f"retags/{retag_id}")
    bar.close()
    return state


def wait_for_tags(client: ApiClient, results: list[FileResult], timeout: float, progress: Progress) -> bool:
    """Poll each pending batch until its images are tagged or failed; True when all
    settled within ``timeout`` seconds. Connection trouble raises ConnectionFailed."""
    pending = {r.batch_id: r for r in results if r.status == QUEUED and r.batch_id}
    bar = progress.overall(len(pending), "tagged")
    deadline = time.monotonic() + timeout
    while pending:
        for batch_id, result in list(pending.items()):
            batch = client.get(f"batches/{batch_id}")
            for image in batch.get("images", []):
                if image["id"] == result.image_id and image["status"] != QUEUED:
                    result.status, result.tags, result.error = image["status"], image["tags"], image.get("error")
                    del pending[batch_id]
                    bar.update(1)
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    bar.close()
    return not pending
