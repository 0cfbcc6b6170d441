"""Cold start, each in a fresh interpreter (median of ``runs``):

- ``import_function_app_s``: ``import function_app`` (what the worker does when an
  instance starts), and of that ``import_azure_functions_s``, the azure-functions
  library alone (the Functions worker has usually loaded it already);
- ``first_image_s``: from before ``import function_app`` until the first 12 MP JPEG is
  tagged through the analysis the tagger runs, every model's set-up included, with
  ``model_setup_s`` of that: onnxruntime imported and every model the analysers use
  built (weights read and checked, the classifier's graph written, the onnxruntime
  sessions), ``setup_<model>_s`` each. The child fails if the image then builds a
  session of its own: a model missing from MODELS would leave its set-up uncounted.
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

# The process-wide getters that build every model the analysers run (tagging/core/*).
MODELS = {
    "classifier": "tagging.core.classify:get_classifier",
    "faces": "tagging.core.people:get_face_detector",
    "safety": "tagging.core.safety:get_nsfw_classifier",
    "text": "tagging.core.text:get_reader",
}

_FIRST_IMAGE = """
import importlib, json, sys, time
t0 = time.perf_counter()
import function_app
from tagging.core.analysis import analyse
data = open(sys.argv[1], "rb").read()
models = json.loads(sys.argv[2])
getters = {name: getattr(importlib.import_module(module), attr) for name, (module, attr) in models.items()}
t1 = time.perf_counter()
from onnxruntime.capi.onnxruntime_inference_collection import InferenceSession

sessions = []
real_init = InferenceSession.__init__
def counted_init(self, *args, **kwargs):
    sessions.append(1)
    real_init(self, *args, **kwargs)
InferenceSession.__init__ = counted_init
setup = {}
for name, get in getters.items():
    started = time.perf_counter()
    get()
    setup[name] = time.perf_counter() - started
t2 = time.perf_counter()
built = len(sessions)
analysis = analyse(data, 10**9)
t3 = time.perf_counter()
assert analysis.tags
assert len(sessions) == built, f"the image built {len(sessions) - built} onnxruntime session(s) outside the set-up"
print(json.dumps({"first_image": t3 - t0, "model_setup": t2 - t1, "sessions": built,
                  **{f"setup_{name}": seconds for name, seconds in setup.items()}}))
"""


def _run(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def first_image(photo: Path, models: dict[str, str] = MODELS) -> dict[str, float]:
    """One fresh interpreter: import, set up ``models`` ({name: "module:getter"}), tag
    ``photo``; seconds per step and the sessions the set-up built. Raises
    CalledProcessError when tagging the photo built a session the set-up had not."""
    spec = json.dumps({name: path.split(":") for name, path in models.items()})
    return _run(_FIRST_IMAGE, str(photo), spec)


def measure(photo: bytes, runs: int = 5) -> dict[str, float]:
    imports = [_run(_IMPORT) for _ in range(runs)]
    with tempfile.NamedTemporaryFile(suffix=".jpg") as file:
        file.write(photo)
        file.flush()
        firsts = [first_image(Path(file.name)) for _ in range(max(3, runs // 2))]
    med = lambda rows, key: round(statistics.median(r[key] for r in rows), 3)  # noqa: E731 - a one-line helper local to this report
    return {
        "import_function_app_s": med(imports, "function_app"),
        "import_function_app_max_s": round(max(r["function_app"] for r in imports), 3),
        "import_azure_functions_s": med(imports, "azure_functions"),
        "first_image_s": med(firsts, "first_image"),
        "model_setup_s": med(firsts, "model_setup"),
        **{f"setup_{name}_s": med(firsts, f"setup_{name}") for name in MODELS},
        "model_sessions": firsts[0]["sessions"],
        "runs": runs,
    }


if __name__ == "__main__":
    from bench.photos import phone_photos

    print(json.dumps(measure(next(iter(phone_photos(1).values()))), indent=2))
