"""Cold start: importing the app loads no heavy library (they load on first use).

Deterministic stand-in for the timing in bench/cold_start.py (0.5 s budget for
``import function_app``): a module-level import of any of these in a binding, a
service or an adapter brings back 0.1-0.9 s each.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFERRED = [
    "numpy", "PIL.Image", "pi_heif", "pillow_heif", "onnxruntime", "azure.core", "azure.storage.blob",
    "azure.storage.queue", "azure.data.tables", "azure.identity", "tagging.core.analysis", "tagging.core.classify",
    "tagging.core.people", "tagging.core.safety", "tagging.core.text",
]  # fmt: skip


def test_import_function_app_defers_heavy_modules():
    code = f"import json, sys, function_app; print(json.dumps([m for m in {DEFERRED!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_indexing_the_functions_defers_them_too():
    code = (
        "import json, sys, function_app; function_app.app.get_functions(); "
        f"print(json.dumps([m for m in {DEFERRED!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
