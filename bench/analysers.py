"""Per-analyser cost on one thread: ``python -m bench.analysers`` (also part of ``make bench``).

For every photo, each step of the product's analysis is timed on its own (median of
``repeats``), generic over :func:`tagging.core.analysis.pipeline.default_analysers`:

- ``decode``: the one shared draft decode (:func:`tagging.core.analysis.decode.decode`);
- ``<analyser name>``: that analyser's ``analyse()`` on the decoded image;
- ``finish``: thumbnail and fingerprints (pHash, SHA-256).

and, for the bound the issue sets ("every analyser together <= 1.25x decode bound +
the models at their chosen input sizes"):

- ``decode_bound``: Pillow draft decode + resize to the classifier's 224 px input
  (:func:`bench.tagging_speed.decode_bound`);
- ``model.<analyser name>``: the time that analyser's ``analyse()`` spent inside
  onnxruntime (``InferenceSession.run``, timed around every call by
  :class:`bench.timing.InferenceClock`), i.e. its networks at the input sizes it chose,
  on the inputs it really made. Nothing in the product knows about the bench: any
  analyser that runs a network on onnxruntime is counted.

``all_over_bound`` = (decode + every analyser + finish) / (decode_bound + every model).
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench import photos as bench_photos
from bench.tagging_speed import decode_bound
from bench.timing import InferenceClock, timed, timed_with_models

MAX_PIXELS = 10**9


def measure(
    photos: dict[str, bytes], repeats: int = 5, clock: Callable[[], float] = time.perf_counter
) -> dict[str, Any]:
    """{"per_image": {file: {step: median ms}}}; ``clock`` ``time.process_time`` gives
    CPU ms, which a busy shared machine distorts less."""
    from tagging.core.analysis.decode import decode
    from tagging.core.analysis.fingerprint import content_hash, perceptual_hash
    from tagging.core.analysis.pipeline import analyse, default_analysers
    from tagging.core.analysis.thumbnail import make_thumbnail

    with InferenceClock(clock) as meter:
        analysers = default_analysers()
        analyse(next(iter(photos.values())), MAX_PIXELS, analysers)  # warm: build every model once
        per_image: dict[str, dict[str, float]] = {}
        for name, data in photos.items():
            image = decode(data, MAX_PIXELS)
            row = {"decode": timed(lambda data=data: decode(data, MAX_PIXELS), repeats, clock)}
            models: dict[str, float] = {}
            for analyser in analysers:
                row[analyser.name], model_ms, _ = timed_with_models(
                    lambda a=analyser, image=image: a.analyse(image), meter, repeats
                )
                if model_ms > 0:
                    models[f"model.{analyser.name}"] = model_ms
            row["finish"] = timed(
                lambda image=image, data=data: (
                    make_thumbnail(image),
                    perceptual_hash(image.preview),
                    content_hash(data),
                ),
                repeats,
                clock,
            )
            row["decode_bound"] = timed(lambda data=data: decode_bound(data), repeats, clock)
            per_image[name] = {**row, **models}
    return {"per_image": per_image}


def summarise(measured: dict[str, Any]) -> dict[str, Any]:
    """Median ms per step over the photos, and the analysis / bound ratio."""
    rows = list(measured["per_image"].values())
    steps = [k for k in rows[0] if all(k in r for r in rows)]
    summary: dict[str, Any] = {f"{k}_ms": round(statistics.median(r[k] for r in rows), 2) for k in steps}
    analysis_steps = [k for k in steps if k != "decode_bound" and not k.startswith("model.")]
    # The ratio per photo, then its median: steps' medians need not come from one photo. A
    # model that did not run on a photo (recognition without text) counts 0 there.
    model_steps = sorted({k for r in rows for k in r if k.startswith("model.")})
    for k in model_steps:
        summary[f"{k}_ms"] = round(statistics.median(r.get(k, 0.0) for r in rows), 2)
    ratios = [
        sum(r[k] for k in analysis_steps) / (r["decode_bound"] + sum(r.get(k, 0.0) for k in model_steps)) for r in rows
    ]
    summary["all_analysers_ms"] = round(statistics.median(sum(r[k] for k in analysis_steps) for r in rows), 2)
    summary["bound_ms"] = round(
        statistics.median(r["decode_bound"] + sum(r.get(k, 0.0) for k in model_steps) for r in rows), 2
    )
    summary["all_over_bound"] = round(statistics.median(ratios), 3)
    return summary


def text_photos() -> dict[str, bytes]:
    """12 MP phone-like JPEGs of the development set's photos labelled with text."""
    from bench import quality

    labels = [label for label in quality.load_labels() if label.text]
    return {
        f"text-{i:02d}-{label.file.rsplit('/', 1)[-1].rsplit('.', 1)[0]}.jpg": bench_photos.phone_jpeg(
            quality.photo_path(label).read_bytes(), 100 + i
        )
        for i, label in enumerate(labels)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.analysers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--phone-photos", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sets = (
        ("12 MP phone JPEGs", bench_photos.phone_photos(args.phone_photos)),
        ("12 MP photos with text", text_photos()),
    )
    for title, photos in sets:
        for unit, clock in (("ms", time.perf_counter), ("CPU ms", time.process_time)):
            print(f"Per analyser, {title}, one thread (median {unit}):")
            for key, value in summarise(measure(photos, args.repeats, clock)).items():
                print(f"  {key:<40} {value}")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
