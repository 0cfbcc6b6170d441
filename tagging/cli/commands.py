"""The commands: each takes the parsed arguments and a client, returns an exit code."""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ..core.vocabulary import ImageStatus
from . import output
from .client import IDEMPOTENCY_HEADER, ApiClient, ApiError, new_idempotency_key
from .progress import Progress
from .upload import ERROR, QUEUED, REJECTED, collect, upload_all, wait_for_retag, wait_for_tags

OK, SOME_FAILED, USAGE = 0, 1, 2
PAGE_MAX = 100  # the API's largest page


def upload(args: argparse.Namespace, client: ApiClient) -> int:
    files = collect(args.paths)
    show_progress = sys.stderr.isatty() if args.progress is None else args.progress
    progress = Progress(show_progress and not args.json, args.concurrency)
    started = time.monotonic()
    human = not args.json
    results = upload_all(
        client, files, args.metadata, args.concurrency, progress,
        report=lambda r: progress.write(output.file_line(r)) if human and not args.wait else None,
    )  # fmt: skip
    upload_seconds = time.monotonic() - started
    settled = True
    if args.wait:
        settled = wait_for_tags(client, results, args.wait_timeout, progress)
        if human:
            for result in results:
                progress.write(output.file_line(result))
    seconds = time.monotonic() - started
    if args.json:
        output.emit_json({
            "files": [r.as_json() for r in results],
            "summary": {status: sum(r.status == status for r in results)
                        for status in (*ImageStatus, REJECTED, ERROR)}
            | {"upload_seconds": round(upload_seconds, 2), "seconds": round(seconds, 2)},
        })  # fmt: skip
    else:
        print(output.summary_line(results, seconds, args.wait), file=sys.stderr)
        if not settled:
            print(f"gave up waiting after {args.wait_timeout:g} s", file=sys.stderr)
    statuses = {r.status for r in results}
    if ERROR in statuses:
        return USAGE
    if statuses & {REJECTED, ImageStatus.FAILED} or (args.wait and QUEUED in statuses):
        return SOME_FAILED
    return OK


def list_images(args: argparse.Namespace, client: ApiClient, tag: str | None = None, text: str | None = None) -> int:
    images: list[dict[str, Any]] = []
    token = None
    tag = tag if tag is not None else args.tag
    while len(images) < args.limit:
        params = {"limit": min(PAGE_MAX, args.limit - len(images)), "tag": tag, "text": text, "continuation": token}
        page = client.get("images", {k: v for k, v in params.items() if v})
        images += page["images"]
        token = page.get("continuation")
        if not token:
            break
    if args.json:
        output.emit_json({"images": images, "continuation": token})
    else:
        print("\n".join(output.image_lines(images)))
    return OK


def search(args: argparse.Namespace, client: ApiClient) -> int:
    return list_images(args, client, tag=args.tag, text=args.text)


def retag(args: argparse.Namespace, client: ApiClient) -> int:
    """Queue a re-tag job; with --wait, follow its progress to the end. Exit 1 when an
    image failed to re-tag (it keeps its previous tags) or waiting timed out."""
    key = new_idempotency_key()  # the same on every retry of this request
    if args.image_id:
        job = client.call("POST", f"{client.image_path(args.image_id)}/retag", headers={IDEMPOTENCY_HEADER: key})
    else:
        params = {"outdated": "true"} if args.outdated else None
        job = client.call("POST", "retags", params=params, headers={IDEMPOTENCY_HEADER: key})
    human = not args.json
    if human:
        print(f"re-tag {job['retag_id']}: {job['total']} image(s) queued (analysis version {job['analysis_version']})",
              file=sys.stderr)  # fmt: skip
    if not args.wait:
        if args.json:
            output.emit_json(job)
        else:
            print(job["retag_id"])
        return OK
    show_progress = sys.stderr.isatty() if args.progress is None else args.progress
    state = wait_for_retag(client, job["retag_id"], args.wait_timeout, Progress(show_progress and human, 0))
    if args.json:
        output.emit_json(state)
    else:
        print("\n".join(output.retag_lines(state)))
    if not state["done"]:
        if human:
            print(f"gave up waiting after {args.wait_timeout:g} s", file=sys.stderr)
        return SOME_FAILED
    return SOME_FAILED if state["failed"] else OK


def show(args: argparse.Namespace, client: ApiClient) -> int:
    image = client.get(client.image_path(args.image_id))
    if args.json:
        output.emit_json(image)
    else:
        print("\n".join(output.detail_lines(image)))
    return OK


def delete(args: argparse.Namespace, client: ApiClient) -> int:
    client.call("DELETE", client.image_path(args.image_id))
    if args.json:
        output.emit_json({"deleted": args.image_id})
    else:
        print(f"deleted {args.image_id}")
    return OK


COMMANDS = {"upload": upload, "list": list_images, "search": search, "show": show, "delete": delete, "retag": retag}


def exit_code_for(error: ApiError) -> int:
    """401/403 (key or identity) and 5xx after retries are set-up or connection
    problems (2); anything else (404, 400...) means the request failed (1)."""
    return USAGE if error.is_client_config_error or error.status >= 500 else SOME_FAILED
