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
- ``model.<name>``: each network alone on an input prepared beforehand. The
  classifier's is built in; another analyser joins by exposing
  ``bench_models(image) -> {name: zero-argument callable}`` that runs only its
  network(s) on inputs it prepares from ``image`` before returning. An analyser
  without it is listed under ``models_missing``: its whole cost then counts on the
  analysis side of the ratio only.

``all_over_bound`` = (decode + every analyser + finish) / (decode_bound + every model).
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Callable

from bench import photos as bench_photos
from bench.tagging_speed import _timed, decode_bound

MAX_PIXELS = 10**9


def _model_probes(analysers: list[Any], image: Any) -> tuple[dict[str, Callable[[], object]], list[str]]:
    from tagging.core.classify import get_classifier, prepare_image

    probes: dict[str, Callable[[], object]] = {}
    missing: list[str] = []
    for analyser in analysers:
        hook = getattr(analyser, "bench_models", None)
        if callable(hook):
            probes.update({f"{analyser.name}.{k}": v for k, v in hook(image).items()})
        elif analyser.name == "classifier":
            classifier, prepared = get_classifier(), prepare_image(image.working)
            probes["classifier.efficientnet-lite0"] = lambda: classifier.logits(prepared)
    models_expected = {"classifier", "faces", "people", "text", "safety"}
    for analyser in analysers:
        if analyser.name in models_expected and not any(p.startswith(analyser.name + ".") for p in probes):
            missing.append(analyser.name)
    return probes, missing


def measure(
    photos: dict[str, bytes], repeats: int = 5, clock: Callable[[], float] = time.perf_counter
) -> dict[str, Any]:
    """{"per_image": {file: {step: median ms}}, "models_missing": [...]}; ``clock``
    ``time.process_time`` gives CPU ms, which a busy shared machine distorts less."""
    from tagging.core.analysis.decode import decode
    from tagging.core.analysis.fingerprint import content_hash, perceptual_hash
    from tagging.core.analysis.pipeline import analyse, default_analysers
    from tagging.core.analysis.thumbnail import make_thumbnail

    analysers = default_analysers()
    analyse(next(iter(photos.values())), MAX_PIXELS, analysers)  # warm: build every model once
    per_image: dict[str, dict[str, float]] = {}
    missing: list[str] = []
    for name, data in photos.items():
        image = decode(data, MAX_PIXELS)
        row = {"decode": _timed(lambda: decode(data, MAX_PIXELS), repeats, clock)}
        for analyser in analysers:
            row[analyser.name] = _timed(lambda a=analyser: a.analyse(image), repeats, clock)
        row["finish"] = _timed(
            lambda: (make_thumbnail(image), perceptual_hash(image.preview), content_hash(data)), repeats, clock
        )
        row["decode_bound"] = _timed(lambda: decode_bound(data), repeats, clock)
        probes, missing = _model_probes(analysers, image)
        for probe, run in probes.items():
            row[f"model.{probe}"] = _timed(run, repeats, clock)
        per_image[name] = row
    return {"per_image": per_image, "models_missing": missing}


def summarise(measured: dict[str, Any]) -> dict[str, Any]:
    """Median ms per step over the photos, and the analysis / bound ratio."""
    rows = list(measured["per_image"].values())
    steps = [k for k in rows[0] if all(k in r for r in rows)]
    summary: dict[str, Any] = {f"{k}_ms": round(statistics.median(r[k] for r in rows), 2) for k in steps}
    analysis_steps = [k for k in steps if k != "decode_bound" and not k.startswith("model.")]
    model_steps = [k for k in steps if k.startswith("model.")]
    # The ratio per photo, then its median: steps' medians need not come from one photo.
    ratios = [
        sum(r[k] for k in analysis_steps) / (r["decode_bound"] + sum(r[k] for k in model_steps)) for r in rows
    ]
    summary["all_analysers_ms"] = round(statistics.median(sum(r[k] for k in analysis_steps) for r in rows), 2)
    summary["bound_ms"] = round(statistics.median(r["decode_bound"] + sum(r[k] for k in model_steps) for r in rows), 2)
    summary["all_over_bound"] = round(statistics.median(ratios), 3)
    summary["models_missing"] = ", ".join(measured["models_missing"]) or "none"
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
    for title, photos in (("12 MP phone JPEGs", bench_photos.phone_photos(args.phone_photos)), ("12 MP photos with text", text_photos())):
        for unit, clock in (("ms", time.perf_counter), ("CPU ms", time.process_time)):
            print(f"Per analyser, {title}, one thread (median {unit}):")
            for key, value in summarise(measure(photos, args.repeats, clock)).items():
                print(f"  {key:<40} {value}")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
