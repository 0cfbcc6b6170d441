"""Decoding a 50-megapixel JPEG stays far below the memory of its full raster."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[3]
# ru_maxrss survives exec (it would report the test runner's peak), so the probe reads
# VmHWM and resets it through /proc/self/clear_refs after warming the classifier: the
# model's fixed ~150 MB is not what this test is about.
PROBE = """
import sys
from tagging.core.analysis import analyse
from tests.support.images import solid

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) // 1024

analyse(solid(size=(640, 480)), 100_000_000)
data = open(sys.argv[1], "rb").read()
open("/proc/self/clear_refs", "w").write("5")
before = status("VmRSS:")
result = analyse(data, 100_000_000)
print(result.facts["width"], result.facts["height"], status("VmHWM:") - before)
"""


def test_50_megapixel_jpeg_peak_memory_is_bounded(tmp_path):
    big = Image.new("RGB", (8660, 5774), (90, 120, 150))  # 50.0 MP; full RGB raster = 150 MB
    path = tmp_path / "big.jpg"
    out = io.BytesIO()
    big.save(out, "JPEG", quality=85)
    path.write_bytes(out.getvalue())
    del big
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    width, height, growth_mb = (int(v) for v in probe.stdout.split())
    assert (width, height) == (8660, 5774)
    assert growth_mb < 40, f"peak RSS grew by {growth_mb} MB while analysing a 50 MP JPEG (full raster: 150 MB)"
