"""Cold start, each in a fresh interpreter (median of ``runs``):

- ``import_function_app_s``: ``import function_app`` (what the worker does when an
  instance starts), and of that ``import_azure_functions_s``, the azure-functions
  library alone (the Functions worker has usually loaded it already);
- ``first_image_s``: from before ``import function_app`` until the first 12 MP JPEG is
  tagged through the analysis the tagger runs (classifier set-up included: weights
  read, graph written, onnxruntime session), with ``model_setup_s`` of that.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_IMPORT = """
import json, time
t0 = time.perf_counter()
import azure.functions
t1 = time.perf_counter()
import function_app
t2 = time.perf_counter()
print(json.dumps({"azure_functions": t1 - t0, "function_app": t2 - t0}))
"""

_FIRST_IMAGE = """
import json, sys, time
t0 = time.perf_counter()
import function_app
from tagging.core.analysis import analyse
from tagging.core.classify import get_classifier
data = open(sys.argv[1], "rb").read()
t1 = time.perf_counter()
get_classifier()
t2 = time.perf_counter()
analysis = analyse(data, 10**9)
t3 = time.perf_counter()
assert analysis.tags
print(json.dumps({"first_image": t3 - t0, "model_setup": t2 - t1}))
"""


def _run(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(photo: bytes, runs: int = 5) -> dict[str, float]:
    imports = [_run(_IMPORT) for _ in range(runs)]
    with tempfile.NamedTemporaryFile(suffix=".jpg") as file:
        file.write(photo)
        file.flush()
        firsts = [_run(_FIRST_IMAGE, file.name) for _ in range(max(3, runs // 2))]
    med = lambda rows, key: round(statistics.median(r[key] for r in rows), 3)  # noqa: E731 - a one-line helper local to this report
    return {
        "import_function_app_s": med(imports, "function_app"),
        "import_function_app_max_s": round(max(r["function_app"] for r in imports), 3),
        "import_azure_functions_s": med(imports, "azure_functions"),
        "first_image_s": med(firsts, "first_image"),
        "model_setup_s": med(firsts, "model_setup"),
        "runs": runs,
    }


if __name__ == "__main__":
    from bench.photos import phone_photos

    print(json.dumps(measure(next(iter(phone_photos(1).values()))), indent=2))
