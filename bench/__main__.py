"""Run the benchmark: ``python -m bench`` (what ``make bench`` does).

Prints a table and writes bench/results.json. Figures are medians from one run on
this machine; compare ratios within a run, not absolute numbers across runs.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from bench import photos, tagging_speed

RESULTS = Path(__file__).resolve().parent / "results.json"


def _table(title: str, summary: dict[str, float]) -> str:
    lines = [title]
    lines += [f"  {key:<24} {value}" for key, value in summary.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--phone-photos", type=int, default=8, help="12 MP JPEGs to generate (default 8)")
    parser.add_argument("--repeats", type=int, default=5, help="timings per image and path (default 5)")
    parser.add_argument("--skip-e2e", action="store_true", help="only the tagging-speed part")
    parser.add_argument("--e2e-images", type=int, default=96, help="images uploaded per end-to-end run (default 96)")
    parser.add_argument("--latency-samples", type=int, default=20, help="idle upload -> tagged samples (default 20)")
    parser.add_argument("--app-cpu-images", type=int, default=48, help="images through the functions in process (default 48)")
    parser.add_argument("--skip-package", action="store_true", help="do not build the deployment package (needs PyPI)")
    parser.add_argument("--requirements", type=Path, default=None, help="requirements file of the package (default requirements.txt)")
    args = parser.parse_args(argv)

    started = time.time()
    report_extra: dict = {}
    if not args.skip_package:
        from bench import package

        report_extra["package"] = package.measure(args.requirements or package.ROOT / "requirements.txt")
        print(_table("Deployment package (Linux x86-64, Python 3.11):", _flatten(report_extra["package"])))
    phone = photos.phone_photos(args.phone_photos)
    fixtures = photos.fixture_photos()
    from bench import cold_start

    report_extra["cold_start"] = cold_start.measure(next(iter(phone.values())))
    print(_table("Cold start, fresh interpreter (median s):", report_extra["cold_start"]))
    phone_results = tagging_speed.measure(phone, args.repeats)
    fixture_results = tagging_speed.measure(fixtures, args.repeats)
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "tagging_12mp": tagging_speed.summarise(phone_results),
        "tagging_fixtures": tagging_speed.summarise(fixture_results),
        **report_extra,
        "per_image": {**phone_results, **fixture_results},
    }
    print(_table("Tagging, 12 MP phone JPEGs, one thread (median ms):", report["tagging_12mp"]))
    print(_table("Tagging, fixture photos (~0.3 MP), one thread (median ms):", report["tagging_fixtures"]))
    from bench import analysers

    # Each analyser's analyse() on its own, plus decode, against decode bound + models.
    report["analysers_12mp"] = analysers.summarise(analysers.measure(phone, args.repeats))
    print(_table("Per analyser, 12 MP phone JPEGs, one thread (median ms):", report["analysers_12mp"]))
    report["analysers_12mp_cpu"] = analysers.summarise(analysers.measure(phone, args.repeats, time.process_time))
    print(_table("Per analyser, 12 MP phone JPEGs, one thread (median CPU ms):", report["analysers_12mp_cpu"]))
    text = analysers.text_photos()
    report["analysers_text_12mp"] = analysers.summarise(analysers.measure(text, args.repeats))
    print(_table("Per analyser, 12 MP photos with text, one thread (median ms):", report["analysers_text_12mp"]))
    report["analysers_text_12mp_cpu"] = analysers.summarise(analysers.measure(text, args.repeats, time.process_time))
    print(_table("Per analyser, 12 MP photos with text, one thread (median CPU ms):", report["analysers_text_12mp_cpu"]))
    if not args.skip_e2e:
        from bench import app_cpu

        report["app_cpu"] = app_cpu.measure(phone, images=args.app_cpu_images)
        print(_table("CPU of the functions per image, in process, no host (ms):", _flatten(report["app_cpu"])))
    if not args.skip_e2e:
        from bench import end_to_end

        e2e = end_to_end.run(
            phone,
            images=args.e2e_images,
            latency_samples=args.latency_samples,
            tagging_rate=lambda: tagging_speed.tagging_rate(phone),
        )
        for workers in (1, 2):
            run = e2e[f"workers_{workers}"]
            # The target ratio: against the tagging-only rate measured around this run.
            e2e[f"throughput_over_tagging_{workers}_worker"] = round(
                run["images_per_s"] / run["tagging_images_per_s_adjacent"], 3
            )
            # The same against the headline rate measured at the start, for comparison.
            e2e[f"throughput_over_headline_tagging_{workers}_worker"] = round(
                run["images_per_s"] / report["tagging_12mp"]["tagging_images_per_s"], 3
            )
            # The runner's whole CPU per image (the functions plus the emulated host's HTTP
            # and queue work, and the benchmark's polling) over tagging's CPU per image.
            e2e[f"app_cpu_over_tagging_cpu_{workers}_worker"] = round(
                run["app_cpu_ms_per_image"] / report["tagging_12mp"]["tagging_cpu_ms"], 2
            )
            if "app_cpu" in report:  # of which the functions (measured in process, same images)
                e2e[f"runner_minus_functions_cpu_ms_per_image_{workers}_worker"] = round(
                    run["app_cpu_ms_per_image"] - report["app_cpu"]["function_cpu_ms_per_image"], 1
                )
        report["end_to_end"] = e2e
        print(_table("End to end through the runner and Azurite (12 MP JPEGs):", _flatten(e2e)))
    report["duration_s"] = round(time.time() - started, 1)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 0


def _flatten(data: dict, prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


if __name__ == "__main__":
    raise SystemExit(main())
