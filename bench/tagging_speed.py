"""Per-image tagging cost on one thread, next to what bounds it.

Paths, each timed on the same bytes in the same run (median of ``repeats``):
- ``tagging``: the product's whole analysis (one draft decode, every analyser,
  thumbnail, fingerprints, classifier) on one thread;
- ``tagging_pool``: the same as an idle worker runs it, the analysers side by side on
  the process's pool (:mod:`tagging.core.analysis.parallel`; one thread where the
  process has one CPU);
- ``decode_bound``: Pillow draft decode + bicubic resize to the 224 px model input;
- ``model``: the classifier network alone on a prepared input;
- ``naive``: full decode + resize to 224 + the same model.
"""
from __future__ import annotations

import io
import math
import statistics
import time
from collections.abc import Callable

from PIL import Image

from tagging.core.analysis import analyse, default_analysers
from tagging.core.analysis.parallel import AnalyserPool
from tagging.core.classify import get_classifier, prepare_image

MODEL_SIDE = 224


def _timed(work: Callable[[], object], repeats: int, clock: Callable[[], float] = time.perf_counter) -> float:
    samples = []
    for _ in range(repeats):
        started = clock()
        work()
        samples.append((clock() - started) * 1000)
    return statistics.median(samples)


def decode_bound(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    if image.format == "JPEG":
        scale = MODEL_SIDE / min(image.size)
        if scale < 1:
            image.draft("RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale)))
    return image.convert("RGB").resize((MODEL_SIDE, MODEL_SIDE), Image.Resampling.BICUBIC)


def naive(data: bytes) -> None:
    image = Image.open(io.BytesIO(data)).convert("RGB").resize((MODEL_SIDE, MODEL_SIDE), Image.Resampling.BICUBIC)
    get_classifier().logits(prepare_image(image))


def measure(photos: dict[str, bytes], repeats: int = 5) -> dict[str, dict[str, float]]:
    """{file name: {path: median ms}} for every photo."""
    analysers = default_analysers()
    classifier = get_classifier()
    one_thread = AnalyserPool(0)
    analyse(next(iter(photos.values())), 10**9, analysers)  # warm: build the models (and the pool) once
    results = {}
    for name, data in photos.items():
        prepared = prepare_image(decode_bound(data))
        results[name] = {
            "tagging": _timed(lambda data=data: analyse(data, 10**9, analysers, one_thread), repeats),
            # CPU of the process (every thread) for the same work: the end-to-end CPU
            # per image is compared with this.
            "tagging_cpu": _timed(
                lambda data=data: analyse(data, 10**9, analysers, one_thread), repeats, time.process_time
            ),
            "tagging_pool": _timed(lambda data=data: analyse(data, 10**9, analysers), repeats),
            "tagging_pool_cpu": _timed(lambda data=data: analyse(data, 10**9, analysers), repeats, time.process_time),
            "decode_bound": _timed(lambda data=data: decode_bound(data), repeats),
            "model": _timed(lambda prepared=prepared: classifier.logits(prepared), repeats),
            "naive": _timed(lambda data=data: naive(data), max(2, repeats // 2)),
            "bytes": len(data),
        }
    return results


def tagging_rate(photos: dict[str, bytes], repeats: int = 3) -> float:
    """Tagging-only images/s on one thread: 1000 / the median over photos of each
    photo's median ms (the ``tagging`` path alone, ~1 s for 8 photos)."""
    analysers, one_thread = default_analysers(), AnalyserPool(0)
    per_photo = [
        _timed(lambda data=data: analyse(data, 10**9, analysers, one_thread), repeats) for data in photos.values()
    ]
    return round(1000 / statistics.median(per_photo), 2)


def summarise(results: dict[str, dict[str, float]]) -> dict[str, float]:
    """Medians over images per path, and the target ratios."""
    paths = ("tagging", "tagging_cpu", "tagging_pool", "tagging_pool_cpu", "decode_bound", "model", "naive")
    summary = {f"{p}_ms": round(statistics.median(r[p] for r in results.values()), 2) for p in paths}
    # One image on an idle worker: the analysers side by side over one after the other.
    summary["pool_over_one_thread"] = round(summary["tagging_pool_ms"] / summary["tagging_ms"], 3)
    summary["pool_cpu_over_one_thread_cpu"] = round(summary["tagging_pool_cpu_ms"] / summary["tagging_cpu_ms"], 3)
    bound = summary["decode_bound_ms"] + summary["model_ms"]
    summary["tagging_over_bound"] = round(summary["tagging_ms"] / bound, 3)
    summary["naive_over_tagging"] = round(summary["naive_ms"] / summary["tagging_ms"], 2)
    summary["tagging_images_per_s"] = round(1000 / summary["tagging_ms"], 2)
    return summary
