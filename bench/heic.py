"""HEIC decode: the app's pi-heif against pillow-heif, on a 12 MP phone-like HEIC.

The HEIC is one of bench/photos.py's 12 MP photos encoded with pillow-heif. Each
decoder is timed in fresh interpreters with Pillow's HEIF opener set to it
(pillow-heif's is registered over the app's for the comparison only: the app never
imports it):

- ``open_load``: ``Image.open`` + ``load``, the full-size decode alone (``_cpu``: the
  process's CPU time for it, all of libheif's decoding threads, less sensitive to load);
- ``app_decode``: the app's :func:`tagging.core.analysis.decode` (full decode, reduce,
  orientation, the working image).
"""
from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DECODERS = ("pi_heif", "pillow_heif")

CHILD = r"""
import io, json, statistics, sys, time
root, decoder, path, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.path.insert(0, root)
from PIL import Image
from tagging.core.analysis.decode import _pil, decode

_pil()
if decoder == "pillow_heif":
    import pillow_heif

    pillow_heif.register_heif_opener()
data = open(path, "rb").read()
assert type(Image.open(io.BytesIO(data))).__module__.startswith(decoder + "."), "wrong HEIF opener"


def timed(work, clock=time.perf_counter):
    work()  # warm
    samples = []
    for _ in range(repeats):
        started = clock()
        work()
        samples.append((clock() - started) * 1000)
    return round(statistics.median(samples), 1)


def open_load():
    Image.open(io.BytesIO(data)).load()


print(json.dumps({
    "open_load_ms": timed(open_load),
    "open_load_cpu_ms": timed(open_load, time.process_time),
    "app_decode_ms": timed(lambda: decode(data, 10**9)),
}))
"""


def heic_photo() -> bytes:
    """The first 12 MP bench photo as a HEIC (pillow-heif, quality 80: ~3 MB, a phone's size)."""
    import pillow_heif
    from PIL import Image

    from bench.photos import phone_photos

    jpeg = next(iter(phone_photos(1).values()))
    out = io.BytesIO()
    pillow_heif.from_pillow(Image.open(io.BytesIO(jpeg)).convert("RGB")).save(out, quality=80)
    return out.getvalue()


def measure(repeats: int = 5, rounds: int = 3) -> dict:
    """{decoder: {path: median ms}}, the HEIC's size, and pillow-heif over pi-heif per path.

    The two decoders take turns, ``rounds`` fresh interpreters each, so a change in the
    machine's load hits both; each figure is the median over its rounds' medians.
    """
    data = heic_photo()
    samples: dict[str, list[dict[str, float]]] = {decoder: [] for decoder in DECODERS}
    with tempfile.TemporaryDirectory(prefix="tagging-heic-") as scratch:
        path = Path(scratch) / "photo.heic"
        path.write_bytes(data)
        for _ in range(rounds):
            for decoder in DECODERS:
                done = subprocess.run(
                    [sys.executable, "-I", "-c", CHILD, str(ROOT), decoder, str(path), str(repeats)],
                    capture_output=True, text=True, check=True, cwd=ROOT,
                )  # fmt: skip
                samples[decoder].append(json.loads(done.stdout.strip().splitlines()[-1]))
    results: dict = {"heic_mb": round(len(data) / 1024 / 1024, 2)}
    for decoder, runs in samples.items():
        results[decoder] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    for key in results["pi_heif"]:
        results[f"{key.removesuffix('_ms')}_pillow_heif_over_pi_heif"] = round(
            results["pillow_heif"][key] / results["pi_heif"][key], 3
        )
    return results


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
