"""Per-image tagging cost on one thread, next to what bounds it.

Paths, each timed on the same bytes in the same run (median of ``repeats``):
- ``tagging``: the product's whole analysis (one draft decode, every analyser,
  thumbnail, fingerprints), with ``models`` of it: the time spent inside onnxruntime
  (every analyser's networks: classifier, faces, safety, text, counted as
  bench/analysers.py counts them, :class:`bench.timing.InferenceClock`) and
  ``model_runs``, the ``Session.run`` calls in one analysis;
- ``decode_bound``: Pillow draft decode + bicubic resize to the 224 px model input;
- ``full_decode``: the same without draft mode (the whole raster decoded first).

``tagging_over_bound`` = tagging / (decode_bound + models), per photo, then the
median: what the analysis costs beyond one small decode and its networks (the
whole-pipeline view of bench/analysers.py's ``all_over_bound``). ``naive_over_tagging``
= (full_decode + models) / tagging: a full-size decode feeding the same networks, a
lower bound of the naive pipeline (its analysers' own pixel work is left out).
"""
from __future__ import annotations

import io
import math
import statistics
import time
from collections.abc import Sequence

from PIL import Image

from bench.timing import InferenceClock, timed, timed_with_models
from tagging.core.analysis import analyse, default_analysers
from tagging.core.analysis.pipeline import Analyser

MODEL_SIDE = 224


def decode_bound(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    if image.format == "JPEG":
        scale = MODEL_SIDE / min(image.size)
        if scale < 1:
            image.draft("RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale)))
    return image.convert("RGB").resize((MODEL_SIDE, MODEL_SIDE), Image.Resampling.BICUBIC)


def full_decode(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB").resize((MODEL_SIDE, MODEL_SIDE), Image.Resampling.BICUBIC)


def measure(
    photos: dict[str, bytes], repeats: int = 5, analysers: Sequence[Analyser] | None = None
) -> dict[str, dict[str, float]]:
    """{file name: {path: median ms}} for every photo (``analysers``: default_analysers())."""
    analysers = default_analysers() if analysers is None else analysers
    results = {}
    with InferenceClock(time.perf_counter) as meter:
        analyse(next(iter(photos.values())), 10**9, analysers)  # warm: build every model once
        for name, data in photos.items():
            tagging, models, runs = timed_with_models(lambda data=data: analyse(data, 10**9, analysers), meter, repeats)
            results[name] = {
                "tagging": tagging,
                "models": models,
                "model_runs": runs,
                # CPU of the process (every thread) for the same work: the end-to-end CPU
                # per image is compared with this.
                "tagging_cpu": timed(lambda data=data: analyse(data, 10**9, analysers), repeats, time.process_time),
                "decode_bound": timed(lambda data=data: decode_bound(data), repeats),
                "full_decode": timed(lambda data=data: full_decode(data), max(2, repeats // 2)),
                "bytes": len(data),
            }
    return results


def tagging_rate(photos: dict[str, bytes], repeats: int = 3) -> float:
    """Tagging-only images/s on one thread: 1000 / the median over photos of each
    photo's median ms (the ``tagging`` path alone, ~1 s for 8 photos)."""
    analysers = default_analysers()
    per_photo = [timed(lambda data=data: analyse(data, 10**9, analysers), repeats) for data in photos.values()]
    return round(1000 / statistics.median(per_photo), 2)


def summarise(results: dict[str, dict[str, float]]) -> dict[str, float]:
    """Medians over images per path, and the target ratios (per photo, then the median:
    the paths' medians need not come from one photo)."""
    rows = list(results.values())
    paths = ("tagging", "tagging_cpu", "decode_bound", "models", "full_decode")
    summary = {f"{p}_ms": round(statistics.median(r[p] for r in rows), 2) for p in paths}
    summary["model_runs"] = statistics.median(r["model_runs"] for r in rows)
    summary["tagging_over_bound"] = round(
        statistics.median(r["tagging"] / (r["decode_bound"] + r["models"]) for r in rows), 3
    )
    summary["naive_over_tagging"] = round(
        statistics.median((r["full_decode"] + r["models"]) / r["tagging"] for r in rows), 2
    )
    summary["tagging_images_per_s"] = round(1000 / summary["tagging_ms"], 2)
    return summary
