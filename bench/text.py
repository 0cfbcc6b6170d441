"""Text reading cost and what it reads: ``python -m bench.text``.

- ``detect_only_ms``: median detection time (prepare + network + post-processing) on the
  12 MP phone JPEGs of bench/photos.py where nothing is read: what every photo pays.
- ``read_ms``: median detection + recognition on 12 MP JPEGs with text (the text
  fixtures and the rendered signs, upscaled to 12 MP like the phone photos).
- ``decode_ms``: median decode of the same 12 MP JPEGs to the working image, for scale.
One intra-op thread (onnxruntime runs on the calling thread), timed as this process's
CPU time so that other work on a shared machine inflates it less than wall time;
medians of ``--repeats`` runs per photo; one run on this machine, so compare ratios,
not absolute numbers across runs.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from functools import partial
from pathlib import Path

from bench import photos

TEXT_FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "text"


def text_photos() -> dict[str, bytes]:
    """12 MP JPEGs with text: the text fixtures and the rendered signs."""
    from tests.core.text.signs import SIGNS, render_jpeg

    out = {
        f"text-{p.stem}.jpg": photos.phone_jpeg(p.read_bytes(), i)
        for i, p in enumerate(sorted(TEXT_FIXTURES.iterdir()))
        if p.suffix in (".png", ".jpg")
    }
    out.update({f"sign-{s.name}.jpg": photos.phone_jpeg(render_jpeg(s), 100 + i) for i, s in enumerate(SIGNS)})
    return out


def _median_ms(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.process_time()
        result = fn()
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times), result


def measure(repeats: int = 3) -> dict:
    from tagging.core.analysis.decode import decode
    from tagging.core.analysis.text import DOCUMENT_COVERAGE, DOCUMENT_MIN_LINES, coverage, text_boxes
    from tagging.core.text import get_reader, searchable_words

    reader = get_reader()
    per_photo: dict[str, dict] = {}
    for kind, group in (("phone", photos.phone_photos()), ("text", text_photos())):
        for name, data in group.items():
            decode_ms, decoded = _median_ms(partial(decode, data, 200_000_000), repeats)
            working = decoded.working.convert("RGB")
            detect_ms, boxes = _median_ms(partial(reader.detect, working), repeats)
            read_ms, reading = _median_ms(partial(reader.read, working), repeats)
            words = searchable_words([line.text for line in reading.lines])
            share = coverage(text_boxes(reading), *working.size)
            per_photo[name] = {
                "kind": kind, "working": list(working.size), "decode_ms": round(decode_ms, 1),
                "detect_ms": round(detect_ms, 1), "read_ms": round(read_ms, 1), "boxes": len(boxes),
                "lines": [[line.text, round(line.score, 3)] for line in reading.lines],
                "recognised": reading.recognised, "words": words, "coverage": round(share, 3),
                "document": len(reading.lines) >= DOCUMENT_MIN_LINES and share >= DOCUMENT_COVERAGE,
            }  # fmt: skip
    no_text = [p for p in per_photo.values() if p["kind"] == "phone" and not p["words"]]
    with_text = [p for p in per_photo.values() if p["kind"] == "text"]
    summary = {
        "phone_photos_without_text": len(no_text),
        "decode_ms_12mp": round(
            statistics.median(p["decode_ms"] for p in per_photo.values() if p["kind"] == "phone"), 1
        ),
        "detect_only_ms": round(statistics.median(p["detect_ms"] for p in no_text), 1) if no_text else None,
        "text_photos": len(with_text),
        "read_ms_with_text": round(statistics.median(p["read_ms"] for p in with_text), 1),
        "read_ms_with_text_max": round(max(p["read_ms"] for p in with_text), 1),
    }
    return {"summary": summary, "per_photo": per_photo}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.text", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print every photo's result as JSON too")
    args = parser.parse_args(argv)
    result = measure(args.repeats)
    if args.json:
        print(json.dumps(result["per_photo"], indent=1))
    for name, p in result["per_photo"].items():
        print(f"{name:<34} detect {p['detect_ms']:>6} ms  read {p['read_ms']:>7} ms  boxes {p['boxes']:>3}  "
              f"lines {len(p['lines']):>2}  cover {p['coverage']:.3f}{'  DOCUMENT' if p['document'] else ''}  "
              f"{' '.join(p['words'][:8])}")  # fmt: skip
    print("Text reading, one thread (median ms):")
    for key, value in result["summary"].items():
        print(f"  {key:<28} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
