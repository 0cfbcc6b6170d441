"""Median ms per analyser on one thread: ``python -m bench.analysers_people``.

Each photo is decoded once (the product's draft decode to the working image, timed
as ``decode``) and every analyser of the default pipeline runs on that decoded image
``repeats`` times; a figure is the median over photos of each photo's median. Both
wall-clock and CPU time of the process are reported (on a shared machine the CPU
figure moves less). ``nsfw_model`` is the Open-NSFW session alone on a prepared
input, the bound for the safety analyser (whose rest is the 256 px JPEG round trip).

:func:`time_per_analyser` is the reusable part (the ``quality`` bench may call it).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence

from bench import photos as bench_photos
from tagging.core.analysis import Analyser, decode, default_analysers

BIG = 10**9


def _median_ms(work: Callable[[], object], repeats: int, clock: Callable[[], float]) -> float:
    samples = []
    for _ in range(repeats):
        started = clock()
        work()
        samples.append((clock() - started) * 1000)
    return statistics.median(samples)


def time_per_analyser(
    photos: dict[str, bytes],
    analysers: Sequence[Analyser] | None = None,
    repeats: int = 5,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """{"decode" and each analyser's name: median ms over ``photos``}. Models are
    built (and warmed) on the first photo before anything is timed."""
    analysers = list(default_analysers() if analysers is None else analysers)
    first = decode(next(iter(photos.values())), BIG)
    for analyser in analysers:
        analyser.analyse(first)
    per_photo: dict[str, list[float]] = {"decode": []}
    for data in photos.values():
        per_photo["decode"].append(_median_ms(lambda data=data: decode(data, BIG), repeats, clock))
        decoded = decode(data, BIG)
        for analyser in analysers:
            per_photo.setdefault(analyser.name, []).append(
                _median_ms(lambda a=analyser, d=decoded: a.analyse(d), repeats, clock)
            )
    return {name: round(statistics.median(values), 2) for name, values in per_photo.items()}


def nsfw_model_ms(photos: dict[str, bytes], repeats: int = 5, clock: Callable[[], float] = time.perf_counter) -> float:
    """Median ms of the Open-NSFW session alone on each photo's prepared input."""
    from tagging.core.safety import get_nsfw_classifier, prepare_image

    classifier = get_nsfw_classifier()
    inputs = [prepare_image(decode(data, BIG).working) for data in photos.values()]
    classifier.score_batch(inputs[0])
    return round(
        statistics.median(_median_ms(lambda x=x: classifier.score_batch(x), repeats, clock) for x in inputs), 2
    )


def measure(phone_count: int = 8, repeats: int = 5) -> dict[str, dict[str, float]]:
    sets = {"12mp": bench_photos.phone_photos(phone_count), "fixtures": bench_photos.fixture_photos()}
    report: dict[str, dict[str, float]] = {}
    for label, photos in sets.items():
        for clock_name, clock in (("wall", time.perf_counter), ("cpu", time.process_time)):
            figures = time_per_analyser(photos, repeats=repeats, clock=clock)
            figures["nsfw_model"] = nsfw_model_ms(photos, repeats, clock)
            report[f"{label}_{clock_name}"] = figures
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.analysers_people", description=__doc__)
    parser.add_argument("--phone-photos", type=int, default=8, help="12 MP JPEGs to generate (default 8)")
    parser.add_argument("--repeats", type=int, default=5, help="timings per photo and analyser (default 5)")
    args = parser.parse_args(argv)
    report = measure(args.phone_photos, args.repeats)
    names = list(next(iter(report.values())))
    print(f"{'median ms, one thread':<22}" + "".join(f"{column:>16}" for column in report))
    for name in names:
        print(f"{name:<22}" + "".join(f"{report[column][name]:>16}" for column in report))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
