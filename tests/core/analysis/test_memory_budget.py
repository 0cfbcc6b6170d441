"""Memory under concurrency: the pixel limit is per call and thread-safe, and
concurrent decodes share a budget sized from the instance's memory.

The bound (README "Instance memory and concurrency"): with TAGGING_INSTANCE_MEMORY_MB
= 2048 (budget 768 MB) and TAGGING_MAX_IMAGE_PIXELS = 100 MP, tagging 16 maximum-size
PNGs, TIFFs and WebPs at once peaks below 1.75 GB of RSS over the warm process
(measured ~1.58 GB: one 100 MP WebP, whose decoder holds ~1.5 GB and so runs alone;
two PNGs or TIFFs at ~0.38 GB each run together), against ~11.5 GB without the budget.
"""
from __future__ import annotations

import io
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tagging.core.analysis import UndecodableImage, decode, sniff_format
from tagging.core.analysis.budget import MB, DecodeBudget, budget_bytes
from tests.support.images import solid

ROOT = Path(__file__).resolve().parents[3]
MAX_PIXELS = 100_000_000
SIDE = 10_000  # 10000 x 10000 = exactly the default TAGGING_MAX_IMAGE_PIXELS
BOUND_MB = 1750  # peak RSS growth allowed while the 16 decode (see the module docstring)

PROBE = """
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from tagging.core.analysis import analyse, budget
from tests.support.images import solid

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) // 1024

shared = budget.configure(int(sys.argv[1]))
analyse(solid(size=(640, 480)), 100_000_000)  # warm: the classifier's ~150 MB is not the subject
files = [open(path, "rb").read() for path in sys.argv[2:]]
work = [files[i % len(files)] for i in range(16)]
open("/proc/self/clear_refs", "w").write("5")  # reset VmHWM to the current RSS
before = status("VmRSS:")
started = time.monotonic()
with ThreadPoolExecutor(16) as pool:
    results = list(pool.map(lambda data: analyse(data, 100_000_000), work))
print(json.dumps({
    "before_mb": before, "peak_mb": status("VmHWM:"), "after_mb": status("VmRSS:"),
    "reserved_peak_mb": shared.peak // 2**20, "budget_mb": shared.limit // 2**20,
    "seconds": round(time.monotonic() - started, 1),
    "sizes": sorted({(r.facts["width"], r.facts["height"]) for r in results}),
    "formats": sorted({r.facts["format"] for r in results}),
}))
"""


def _max_size_images(folder: Path) -> list[Path]:
    """A 100 MP PNG, TIFF and WebP (stripes, so they compress to ~1 MB each)."""
    image = Image.new("RGB", (SIDE, SIDE), (90, 120, 150))
    draw = ImageDraw.Draw(image)
    for x in range(0, SIDE, 500):
        draw.rectangle([x, 0, x + 250, SIDE], fill=(200, 80, 40))
    paths = []
    for fmt, options in (("PNG", {"compress_level": 1}), ("TIFF", {"compression": "tiff_adobe_deflate"}),
                         ("WEBP", {"quality": 10, "method": 0})):  # fmt: skip
        out = io.BytesIO()
        image.save(out, fmt, **options)
        path = folder / f"max.{fmt.lower()}"
        path.write_bytes(out.getvalue())
        paths.append(path)
    return paths


def test_16_maximum_size_pngs_tiffs_and_webps_at_once_stay_under_the_bound(tmp_path):
    paths = _max_size_images(tmp_path)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, "2048", *map(str, paths)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    import json

    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result["sizes"] == [[SIDE, SIDE]] and result["formats"] == ["png", "tiff", "webp"]
    assert result["budget_mb"] == 768 and result["reserved_peak_mb"] <= 768
    growth = result["peak_mb"] - result["before_mb"]
    assert growth < BOUND_MB, f"16 concurrent 100 MP decodes grew peak RSS by {growth} MB: {result}"
    # Freed rasters go back to the OS (fixed mmap threshold): no arena keeps gigabytes.
    assert result["after_mb"] - result["before_mb"] < 200, result


def test_budget_never_holds_more_than_its_limit_and_a_large_decode_runs_alone():
    budget = DecodeBudget(100)
    inside, most, lock = [0], [0], threading.Lock()

    def hold(nbytes: int) -> None:
        with budget.reserve(nbytes):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            threading.Event().wait(0.01)
            assert budget.in_use <= budget.limit
            with lock:
                inside[0] -= 1

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(hold, [30, 30, 30, 500, 30, 30, 100, 10] * 4))
    assert budget.in_use == 0 and budget.peak <= 100 and most[0] >= 2


def test_budget_follows_the_instance_memory():
    assert budget_bytes(2048) == 768 * MB
    assert budget_bytes(4096) == 1792 * MB
    assert budget_bytes(512) == 128 * MB


def _png_header(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")  # 1-bit: tiny file, full header
    return out.getvalue()


@pytest.mark.parametrize("concurrent", [1, 5, 16])
def test_pixel_limit_is_the_same_alone_and_under_concurrency(concurrent: int):
    """Pillow's own limit (a process-wide warning at 89 MP) no longer decides: only
    max_pixels does, per call. A 99.8 MP image is accepted and a 100.2 MP one refused,
    whether one or sixteen are checked at once."""
    under, over = _png_header(9990, 9990), _png_header(10010, 10010)

    def verdict(data: bytes) -> str:
        try:
            sniff_format(data, MAX_PIXELS)
            return "ok"
        except UndecodableImage as error:
            return error.code

    with ThreadPoolExecutor(concurrent) as pool:
        verdicts = list(pool.map(verdict, [under, over] * concurrent))
    assert verdicts == ["ok", "image_too_large"] * concurrent


def test_decode_reserves_from_the_budget_it_is_given():
    budget = DecodeBudget(64 * MB)
    decode(solid(size=(1000, 800), fmt="PNG"), MAX_PIXELS, budget)
    assert budget.peak == 1000 * 800 * 4 and budget.in_use == 0
