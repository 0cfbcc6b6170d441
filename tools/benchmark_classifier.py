#!/usr/bin/env python3
"""Measure the content classifier: cold build, per-image latency on one thread, peak RSS.

Dev-time only. Run in a fresh process from the repository root with the app's venv::

    .venv/bin/python tools/benchmark_classifier.py [--runs 50] [photo ...]

Cold build = read the model file (tagging/core/classify/weights/, built by
``make install``), verify its sha256, create the onnxruntime session (imports timed
separately). "model" = one session run on a
prepared (1, 3, 224, 224) tensor; "preprocess" = prepare_image on the photo as given.
Peak RSS is the process high-water mark (ru_maxrss) at the end.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_PHOTOS = sorted((ROOT / "tests" / "fixtures" / "photos").glob("*.[jp][pn]g"))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("photos", nargs="*", type=Path, default=DEFAULT_PHOTOS)
    args = parser.parse_args()

    t0 = time.perf_counter()
    import numpy as np
    import onnxruntime  # noqa: F401 - timed: the import is part of the cold start measured
    from PIL import Image

    from tagging.core.classify import model
    from tagging.core.onnx_models import read_checked

    t1 = time.perf_counter()
    rss_imports = rss_mb()
    classifier = model.ContentClassifier()  # the full cold path, as get_classifier() takes it
    t2 = time.perf_counter()
    rss_built = rss_mb()
    # breakdown, measured afterwards (file now in the page cache)
    s = time.perf_counter()
    read_checked(model.WEIGHTS_DIR / model.MODEL_FILE, model.pinned_sha256())
    t_weights = time.perf_counter() - s
    print(f"imports                 {1000 * (t1 - t0):7.1f} ms   (RSS {rss_imports:.0f} MB)")
    print(f"cold build              {1000 * (t2 - t1):7.1f} ms   (model file + session; RSS {rss_built:.0f} MB)")
    print(f"  of which file read    {1000 * t_weights:7.1f} ms   (read + sha256, warm cache)")

    for path in args.photos:
        with Image.open(path) as image:
            image.load()
            pre = []
            for _ in range(max(5, args.runs // 5)):
                s = time.perf_counter()
                x = model.prepare_image(image)
                pre.append(time.perf_counter() - s)
        for _ in range(5):
            classifier.logits(x)
        runs = []
        for _ in range(args.runs):
            s = time.perf_counter()
            classifier.logits(x)
            runs.append(time.perf_counter() - s)
        print(
            f"{path.name:22s} {image.size[0]}x{image.size[1]:<4d} model median {1000 * statistics.median(runs):5.2f} ms"
            f" (min {1000 * min(runs):5.2f}, p90 {1000 * float(np.percentile(runs, 90)):5.2f})"
            f"  preprocess median {1000 * statistics.median(pre):5.2f} ms"
        )
    print(f"peak RSS {rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
