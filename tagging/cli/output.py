"""What the commands print: JSON (``--json``) or lines for people."""
from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from ..core.vocabulary import ImageStatus
from .upload import ERROR, REJECTED, FileResult


def emit_json(value: Any, out: TextIO | None = None) -> None:
    json.dump(value, out or sys.stdout, ensure_ascii=False, indent=2)
    (out or sys.stdout).write("\n")


def tag_text(tags: list[dict[str, Any]], confidence: bool = False) -> str:
    if not tags:
        return "-"
    if confidence:
        return ", ".join(f"{t['name']} {round(t['confidence'] * 100)}%" for t in tags)
    return ", ".join(t["name"] for t in tags)


def file_line(result: FileResult) -> str:
    """One line per uploaded file: status, name, then id and tags or the reason."""
    if result.status in (REJECTED, ERROR, ImageStatus.FAILED):
        reason = result.error or {}
        return f"{result.status:<8} {result.path}  {reason.get('message', '')} ({reason.get('code', '?')})"
    details = f"id={result.image_id}"
    if result.status == ImageStatus.TAGGED:
        details += f"  tags: {tag_text(result.tags, confidence=True)}"
    return f"{result.status:<8} {result.path}  {details}"


def image_lines(images: list[dict[str, Any]]) -> list[str]:
    """A table of image summaries."""
    if not images:
        return ["no images"]
    rows = [("ID", "STATUS", "UPLOADED", "FILENAME", "TAGS")]
    rows += [
        (i["id"], i["status"], (i.get("uploaded_at") or "")[:19].replace("T", " "), i["filename"], tag_text(i["tags"]))
        for i in images
    ]
    widths = [max(len(row[c]) for row in rows) for c in range(4)]
    return ["  ".join(row[c].ljust(widths[c]) for c in range(4)) + "  " + row[4] for row in rows]


def detail_lines(image: dict[str, Any]) -> list[str]:
    """One image in full."""
    lines = [
        f"id:           {image['id']}",
        f"filename:     {image['filename']}",
        f"status:       {image['status']}",
        f"batch:        {image['batch_id']}",
        f"uploaded:     {image.get('uploaded_at') or '-'}",
        f"tagged:       {image.get('tagged_at') or '-'}",
        f"analysis:     version {image.get('analysis_version') or '-'}",
        f"size:         {image.get('size')} bytes, {image.get('content_type') or '?'}",
    ]
    if image.get("error"):
        lines.append(f"error:        {image['error'].get('message')} ({image['error'].get('code')})")
    lines.append("tags:")
    lines += [f"  {t['name']:<20} {t['confidence']:.2f}  {t['source']}" for t in image.get("tags", [])] or ["  -"]
    lines.append("facts:")
    for key, value in (image.get("facts") or {}).items():
        plain = isinstance(value, (str, int, float, bool)) or value is None
        text = value if plain else json.dumps(value, ensure_ascii=False)
        lines.append(f"  {key:<20} {text}")
    lines.append(f"original:     {image.get('url') or '-'}")
    return lines


def retag_lines(job: dict[str, Any]) -> list[str]:
    """A re-tag job's outcome: one line per image that failed, then the counts."""
    lines = [
        f"{image['id']}  failed  {(image.get('error') or {}).get('message', '')} "
        f"({(image.get('error') or {}).get('code', '')})"
        for image in job.get("images", [])
        if image["status"] == ImageStatus.FAILED
    ]
    lines.append(
        f"re-tag {job['retag_id']}: {job['tagged']} re-tagged, {job['failed']} failed, {job['queued']} queued"
        f" of {job['total']} (analysis version {job['analysis_version']})"
    )
    return lines


def summary_line(results: list[FileResult], seconds: float, waited: bool) -> str:
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    uploaded = sum(counts.get(s, 0) for s in ImageStatus)
    parts = [f"{uploaded} of {len(results)} uploaded"]
    for status in ("rejected", "error"):
        if counts.get(status):
            parts.append(f"{counts[status]} {'not uploaded' if status == 'error' else status}")
    if waited:
        parts.append(f"{counts.get('tagged', 0)} tagged, {counts.get('failed', 0)} failed")
        if counts.get("queued"):
            parts.append(f"{counts['queued']} still queued")
    return f"{'; '.join(parts)} in {seconds:.1f} s"
